import Foundation
import Testing

@testable import IsletCore

/// Mistakes in a stack's `artifacts:` section are reported at their line, with what was expected.
@Suite struct ArtifactDeclarationTests {
    func problems(_ artifacts: String, inputs: String = "{}") throws -> [String] {
        let platform = TestPlatform()
        platform.stack(
            "kube",
            """
            roles: [{name: worker, min: 1}]
            artifacts:
            \(artifacts)
            steps:
              - name: tools
                inputs: \(inputs)
                check: "true"
                apply: "true"
            """)
        platform.inventory(nodes: [("w1", ["worker"])])
        do {
            _ = try platform.workspace()
            return []
        } catch let failure as ValidationFailure {
            return failure.diagnostics.map { "\($0.location.line): \($0.message)" }
        }
    }

    @Test func eachMistakeIsNamedAtItsLine() throws {
        let found = try problems(
            """
              files:
                - name: kubeadm
                  version: cluster.kubernetesVersion
                  url: https://dl.example/{version}/{os}/kubeadm
                  sha256: {"1.36.4": {amd64: ABC, ppc64le: \(String(repeating: "a", count: 64))}}
                - name: kubelet
                  version: cluster.podSubnet
                  url: ftp://dl.example/kubeadm
                  sha256: {}
                - name: kubeadm
                  version: {value: "1"}
                  url: https://dl.example/kubeadm
                  sha256: {}
              images:
                - name: pause
                  reference: registry.k8s.io/pause@sha256:abc
                - name: api
                  reference: registry.k8s.io/kube-apiserver:v{version}
                  digest: sha256:nothex
            """)
        #expect(found.contains("9: 'url' has an unknown placeholder {os}; expected {version} or {arch}"), "\(found)")
        #expect(
            found.contains("10: sha256.1.36.4.amd64 is 'ABC'; expected 64 lowercase hex digits (or unpublished)"),
            "\(found)")
        #expect(found.contains { $0.hasPrefix("10: unknown architecture 'ppc64le' in sha256.1.36.4") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("15: duplicate artifact name 'kubeadm' (first at line 7)") }, "\(found)")
        #expect(found.contains("13: 'url' is 'ftp://dl.example/kubeadm'; expected an https or http URL without spaces"))
        #expect(
            found.contains {
                $0.hasPrefix("21: 'reference' is 'registry.k8s.io/pause@sha256:abc'; expected HOST/PATH:TAG")
            }, "\(found)")
        #expect(
            found.contains {
                $0.hasPrefix("23: 'reference' holds {version} but the image has no 'version'")
            }, "\(found)")
        #expect(found.contains("24: 'digest' is 'sha256:nothex'; expected sha256: and 64 lowercase hex digits"))
        #expect(
            found.contains {
                $0.hasPrefix("11: artifact version reads cluster field 'podSubnet'; expected cluster.kubernetesVersion")
            }, "\(found)")
    }

    @Test func anExtractPathLeavingTheArchiveIsRefused() throws {
        let found = try problems(
            """
              files:
                - {name: a, version: {value: "1"}, url: "https://x/a", sha256: {}, extract: ../../etc/passwd}
                - {name: b, version: {value: "1"}, url: "https://x/b", sha256: {}, extract: /bin/sh}
            """)
        #expect(
            found.contains { $0.hasPrefix("7: 'extract' is '../../etc/passwd'; expected a member path") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("8: 'extract' is '/bin/sh'; expected a member path") }, "\(found)")
    }

    @Test func anInputNamingAnUndeclaredArtifactIsRefused() throws {
        let found = try problems(
            """
              images:
                - {name: pause, reference: "registry.k8s.io/pause:3.10.2"}
            """, inputs: "{A: artifacts.paus, B: artifacts.nostack/x}")
        #expect(
            found.contains {
                $0.contains(
                    "input 'A' reads artifact 'kube/paus', which stack 'kube' does not declare; expected pause (did you mean 'pause'?)"
                )
            }, "\(found)")
        #expect(
            found.contains { $0.contains("input 'B' reads artifact 'nostack/x' of unknown stack 'nostack'") },
            "\(found)")
    }

    @Test func aNodeArchitectureMustBeKnown() throws {
        let platform = TestPlatform()
        platform.stack("kube", "roles: [{name: worker}]\nsteps: []\n")
        platform.write(
            platform.inventoryPath,
            """
            apiVersion: islet/v1
            kind: Inventory
            cluster: {name: test, arch: riscv64}
            nodes:
              - {name: w1, address: 10.9.0.1, roles: [worker], arch: x86_64}
            """)
        #expect {
            try platform.workspace()
        } throws: { error in
            "\(error)".contains("inventory.yaml:3:29: 'cluster.arch' is 'riscv64'; expected amd64 or arm64")
                && "\(error)".contains("inventory.yaml:5:58: 'nodes[w1].arch' is 'x86_64'; expected amd64 or arm64")
        }
    }
}
