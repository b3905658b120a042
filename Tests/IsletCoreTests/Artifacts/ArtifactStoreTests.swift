import Foundation
import Testing

@testable import IsletCore

/// A stack's `artifactStore:` orders the platform: what the store needs comes first, then every other step
/// that reads artifacts waits for it.
@Suite struct ArtifactStoreTests {
    static let digest = String(repeating: "a", count: 64)

    func platform(port: String = "settings.store.port") -> TestPlatform {
        let platform = TestPlatform()
        let artifacts = """
            artifacts:
              files:
                - {name: bin, version: {value: "1"}, url: "https://dl.example/bin", sha256: {"1": {any: \(Self.digest)}}}
            """
        platform.stack(
            "store",
            """
            roles: [{name: registry, min: 1, max: 1}, {name: worker}]
            settings: [{key: store.port, type: port, default: 5000, description: where the store listens}]
            artifactStore: {step: service, port: \(port)}
            \(artifacts)
            steps:
              - {name: install, roles: [registry], inputs: {BIN: artifacts.bin}, check: "true", apply: "true"}
              - {name: service, roles: [registry], after: [install], check: "true", apply: "true"}
              - {name: tools, inputs: {BIN: artifacts.bin}, check: "true", apply: "true"}
              - {name: plain, check: "true", apply: "true"}
            """)
        platform.inventory(nodes: [("r1", ["registry"]), ("w1", ["worker"])])
        return platform
    }

    @Test func stepsReadingArtifactsWaitForTheStoreExceptThoseItNeeds() throws {
        let workspace = try platform().workspace()
        let catalog = workspace.catalog
        func id(_ step: String) -> StepID { StepID(stack: "store", step: step) }
        #expect(catalog.dependencies(of: id("tools")) == [id("service")])
        #expect(catalog.dependencies(of: id("install")).isEmpty)
        #expect(catalog.dependencies(of: id("plain")).isEmpty)
        #expect(catalog.runsBeforeStore(id("install")) && catalog.runsBeforeStore(id("service")))
        #expect(!catalog.runsBeforeStore(id("tools")))
        let store = workspace.graph.artifactStoreNode
        #expect(store?.node.name == "r1")
        #expect(store?.url == "http://10.9.0.1:5000")
    }

    @Test func aStoreNamingAnUnknownStepOrSettingIsRefused() throws {
        let platform = platform(port: "settings.nothere")
        platform.stack(
            "other", "roles: [{name: worker}]\nartifactStore: {step: nope, port: {value: 5000}}\nsteps: []\n")
        #expect {
            try platform.workspace()
        } throws: { error in
            let text = "\(error)"
            return text.contains("artifactStore port reads setting 'nothere' that stack 'store' does not declare")
                && text.contains("artifactStore names unknown step 'other/nope'")
                && text.contains("stack 'store' declares an artifactStore, and so does stack 'other'")
        }
    }
}
