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

/// What a node's curl is given to reach the store: a private config with the authority and the user, never argv.
@Suite struct StoreAccessTests {
    @Test func theCurlConfigTrustsTheAuthorityGivesTheUserAndIsPrivate() throws {
        let dir = NSTemporaryDirectory() + "islet store access \(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let access = ArtifactDelivery.StoreAccess(
            url: "https://10.9.0.1:5000", authority: "-----BEGIN CERTIFICATE-----\nAB\n-----END CERTIFICATE-----\n",
            username: "islet", password: #"p"a\ss"#)
        let script = "d=\(ShellQuoting.quote(dir))\n" + access.curlSetup(in: "\"$d\"") + "\nprintf '%s' \"$k\"\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let printed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(printed == dir + "/store.curl")
        let config = try String(contentsOfFile: dir + "/store.curl", encoding: .utf8)
        // curl's config quoting: backslash and double quote escaped.
        #expect(config == "cacert = \"\(dir)/store-ca.pem\"\nuser = \"islet:p\\\"a\\\\ss\"\n", "\(config)")
        #expect(try String(contentsOfFile: dir + "/store-ca.pem", encoding: .utf8) == access.authority)
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/store.curl")[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        // Plain HTTP without a user: an empty config, so the same curl call works.
        let plain = ArtifactDelivery.StoreAccess(url: "http://10.9.0.1:5000")
        #expect(!plain.curlSetup(in: "\"$d\"").contains("cacert"))
    }
}
