import Foundation
import Testing

@testable import IsletCore

/// Which artifacts an inventory needs, pinned to which digests, and what steps see of them.
@Suite struct ArtifactNeedsTests {
    static let amd = String(repeating: "a", count: 64)
    static let arm = String(repeating: "b", count: 64)
    static let newer = String(repeating: "c", count: 64)
    static let manifest = String(repeating: "d", count: 64)

    /// kube: a per-arch binary following cluster.kubernetesVersion, an arch-independent manifest, a fixed
    /// image and a versioned one; only `tools` (on workers) reads the binary and the versioned image.
    func platform(kubernetesVersion: String = "1.36.4", workerArch: String = "arm64", binaryPins: String? = nil)
        -> TestPlatform
    {
        let platform = TestPlatform()
        let pins = binaryPins ?? "\"1.36.4\": {amd64: \(Self.amd), arm64: \(Self.arm)}"
        platform.stack(
            "kube",
            """
            roles: [{name: control-plane, min: 1}, {name: worker}]
            artifacts:
              files:
                - name: kubeadm
                  version: cluster.kubernetesVersion
                  url: https://dl.example/v{version}/bin/linux/{arch}/kubeadm
                  sha256: {\(pins)}
                - name: flannel
                  version: {value: v0.28.9}
                  url: https://dl.example/flannel/{version}/kube-flannel.yml
                  sha256: {v0.28.9: {any: \(Self.manifest)}}
              images:
                - name: pause
                  reference: registry.k8s.io/pause:3.10.2
                - name: apiserver
                  version: cluster.kubernetesVersion
                  reference: registry.k8s.io/kube-apiserver:v{version}
                  versions: {"1.36.4": "sha256:\(Self.newer)", "1.36.3": null}
            steps:
              - name: tools
                roles: [worker]
                inputs: {KUBEADM: artifacts.kubeadm, API: artifacts.apiserver, ARCH: node.arch}
                check: "true"
                apply: "true"
              - name: cni
                scope: cluster
                roles: [control-plane]
                inputs: {MANIFEST: artifacts.flannel, PAUSE: artifacts.kube/pause}
                check: "true"
                apply: "true"
            """)
        platform.write(
            platform.inventoryPath,
            """
            apiVersion: islet/v1
            kind: Inventory
            cluster: {name: test, kubernetesVersion: "\(kubernetesVersion)"}
            nodes:
              - {name: cp1, address: 10.9.0.1, roles: [control-plane]}
              - {name: w1, address: 10.9.0.2, roles: [worker]}
              - {name: w2, address: 10.9.0.3, roles: [worker], arch: \(workerArch)}
            """)
        return platform
    }

    @Test func onlyTheArchitecturesOfTheNodesThatReadAFileAreNeeded() throws {
        let needs = try platform().workspace().graph.artifacts
        #expect(
            needs.files.map(\.label) == [
                "kube/flannel v0.28.9", "kube/kubeadm 1.36.4 amd64", "kube/kubeadm 1.36.4 arm64",
            ])
        let arm = needs.files.first { $0.arch == .arm64 }
        #expect(arm?.url == "https://dl.example/v1.36.4/bin/linux/arm64/kubeadm")
        #expect(arm?.sha256 == Self.arm)
        #expect(
            needs.images.map(\.label) == [
                "kube/apiserver registry.k8s.io/kube-apiserver:v1.36.4", "kube/pause registry.k8s.io/pause:3.10.2",
            ])
        #expect(needs.images.first?.platforms == [.amd64, .arm64])
        #expect(needs.images.last?.platforms == [.amd64])  // read by the cluster step on cp1 only
    }

    @Test func aFileAllNodesOnOneArchitectureReadIsNeededOnce() throws {
        let needs = try platform(workerArch: "amd64").workspace().graph.artifacts
        #expect(needs.files.map(\.label) == ["kube/flannel v0.28.9", "kube/kubeadm 1.36.4 amd64"])
    }

    /// Steps see a file as its path by digest on the node, and an image as its upstream reference, pinned
    /// by digest when the stack gives one.
    @Test func stepsSeeContentAddressedPathsAndPinnedReferences() throws {
        let workspace = try platform().workspace()
        let resolver = StepResolver(graph: workspace.graph, facts: [:])
        let outputs = RecordedOutputs(workspace: workspace)
        let tools = try resolver.resolve(
            StepInstance(step: StepID(stack: "kube", step: "tools"), node: "w2"), outputs: outputs, acting: [])
        let environment = Dictionary(uniqueKeysWithValues: tools.environment.map { ($0.name, $0.value) })
        #expect(environment["KUBEADM"] == "/var/lib/islet/artifacts/sha256/\(Self.arm)")
        #expect(environment["API"] == "registry.k8s.io/kube-apiserver:v1.36.4@sha256:\(Self.newer)")
        #expect(environment["ARCH"] == "arm64")
        let cni = try resolver.resolve(
            StepInstance(step: StepID(stack: "kube", step: "cni"), node: "cp1"), outputs: outputs, acting: [])
        let cniEnvironment = Dictionary(uniqueKeysWithValues: cni.environment.map { ($0.name, $0.value) })
        #expect(cniEnvironment["PAUSE"] == "registry.k8s.io/pause:3.10.2")
        #expect(cniEnvironment["MANIFEST"] == "/var/lib/islet/artifacts/sha256/\(Self.manifest)")
    }

    /// A new build of one file changes the fingerprint of exactly the steps reading it, on that architecture.
    @Test func aNewDigestChangesOnlyTheStepsReadingIt() throws {
        func fingerprints(_ platform: TestPlatform) throws -> [String: String] {
            let workspace = try platform.workspace()
            let resolver = StepResolver(graph: workspace.graph, facts: [:])
            let outputs = RecordedOutputs(workspace: workspace)
            var result: [String: String] = [:]
            for instance in workspace.graph.instances {
                let resolved = try resolver.resolve(instance, outputs: outputs, acting: [])
                result["\(instance.node) \(instance.step)"] = resolved.fingerprint
            }
            return result
        }
        let before = try fingerprints(platform())
        let after = try fingerprints(platform(binaryPins: "\"1.36.4\": {amd64: \(Self.amd), arm64: \(Self.newer)}"))
        #expect(before.count == 3)
        #expect(before.filter { after[$0.key] != $0.value }.map(\.key) == ["w2 kube/tools"])
    }

    /// Plan refuses a node whose machine is not the architecture the inventory declares, before any change.
    @Test func aNodeOfAnotherArchitectureIsRefusedAtPlan() async throws {
        let plan = try await platform().plan()  // w2 declares arm64; the local nodes run on this machine
        let failure = plan.failures.first { $0.node == "w2" }
        #expect(failure?.message.contains("but the inventory declares arch arm64") == true, "\(plan.failures)")
        #expect(!plan.changes.contains { $0.node == "w2" })
        #expect(plan.changes.contains { $0.node == "w1" })
    }

    @Test func aVersionTheStackDoesNotPinIsRefusedNamingThePinnedOnes() throws {
        let platform = platform(kubernetesVersion: "1.36.2")
        #expect {
            try platform.workspace()
        } throws: { error in
            let text = "\(error)"
            return text.contains("stack.yaml:7:7:")
                && text.contains(
                    "artifact 'kube/kubeadm': version 1.36.2 (from cluster.kubernetesVersion) is not pinned by stack 'kube'; pinned: 1.36.4"
                )
                && text.contains(
                    "artifact 'kube/apiserver': version 1.36.2 (from cluster.kubernetesVersion) is not pinned by stack 'kube'; pinned: 1.36.3 and 1.36.4"
                )
                && text.contains("--allow-unpinned")
        }
    }

    @Test func allowUnpinnedNeedsTheVersionWithoutADigest() throws {
        let platform = platform(kubernetesVersion: "1.36.2")
        let workspace = try Workspace.load(
            inventoryPath: platform.inventoryPath, stacksDirectory: platform.stacksDirectory, statePath: nil,
            allowUnpinned: true)
        let kubeadm = workspace.graph.artifacts.files.filter { $0.id.name == "kubeadm" }
        #expect(
            kubeadm.map(\.url) == [
                "https://dl.example/v1.36.2/bin/linux/amd64/kubeadm",
                "https://dl.example/v1.36.2/bin/linux/arm64/kubeadm",
            ])
        #expect(kubeadm.allSatisfy { $0.sha256 == nil })
        #expect(workspace.graph.artifacts.images.first { $0.id.name == "apiserver" }?.pinned == false)
    }

    @Test func aMissingArchitecturePinIsRefused() throws {
        let platform = platform(binaryPins: "\"1.36.4\": {amd64: \(Self.amd)}")
        #expect {
            try platform.workspace()
        } throws: { error in
            "\(error)".contains(
                "artifact 'kube/kubeadm' 1.36.4 is not pinned for arm64 (nodes of that architecture read it); pinned: amd64"
            )
        }
    }

    @Test func extraArchitecturesAreCollectedToo() throws {
        let platform = platform(workerArch: "amd64")
        let workspace = try Workspace.load(
            inventoryPath: platform.inventoryPath, stacksDirectory: platform.stacksDirectory, statePath: nil,
            extraArchitectures: [.arm64])
        #expect(workspace.graph.artifacts.files.map(\.label).contains("kube/kubeadm 1.36.4 arm64"))
    }
}
