import Foundation
import Testing

@testable import IsletBundle

@Suite struct MirrorsTests {
    @Test func theLongestURLPrefixWins() throws {
        let mirrors = try Mirrors(rules: [
            "https://dl.k8s.io/=https://nexus.corp/repository/k8s/",
            "https://dl.k8s.io/release/v1.36.4/=https://nexus.corp/pinned/",
        ])
        #expect(
            mirrors.url(for: "https://dl.k8s.io/release/v1.36.4/bin/linux/amd64/kubeadm")
                == "https://nexus.corp/pinned/bin/linux/amd64/kubeadm")
        #expect(
            mirrors.url(for: "https://dl.k8s.io/release/v1.35.0/bin/linux/amd64/kubeadm")
                == "https://nexus.corp/repository/k8s/release/v1.35.0/bin/linux/amd64/kubeadm")
        #expect(mirrors.url(for: "https://github.com/x/y") == "https://github.com/x/y")
    }

    @Test func registryHostsMapToAHostPortAndPathPrefix() throws {
        let mirrors = try Mirrors(rules: ["quay.io=nexus.corp:8443/quay-proxy", "registry.k8s.io = mirror.local"])
        let quay = try #require(mirrors.registry(for: "Quay.io"))
        #expect(quay == Mirrors.Registry(host: "nexus.corp:8443", pathPrefix: "quay-proxy"))
        #expect(quay.repository("argoproj/argocd") == "quay-proxy/argoproj/argocd")
        #expect(mirrors.registry(for: "registry.k8s.io") == Mirrors.Registry(host: "mirror.local"))
        #expect(mirrors.registry(for: "registry.k8s.io")?.repository("pause") == "pause")
        #expect(mirrors.registry(for: "docker.io") == nil)
    }

    @Test func aFileHasCommentsAndBlankLinesAndErrorsNameItsLine() throws {
        let folder = try makeScratchDirectory("islet-mirrors")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let good = folder + "/mirrors.txt"
        try """
        # site mirrors
        https://dl.k8s.io/=https://nexus.corp/k8s/   # files

        quay.io=nexus.corp/quay
        """.write(toFile: good, atomically: true, encoding: .utf8)
        let mirrors = try Mirrors(contentsOfFile: good)
        #expect(mirrors.url(for: "https://dl.k8s.io/a") == "https://nexus.corp/k8s/a")
        #expect(mirrors.registry(for: "quay.io") == Mirrors.Registry(host: "nexus.corp", pathPrefix: "quay"))

        let bad = folder + "/bad.txt"
        try "# ok\nquay.io=nexus.corp\n\nthis line has no equals sign\n".write(
            toFile: bad, atomically: true, encoding: .utf8)
        #expect(
            throws: MirrorError(origin: bad + ":4", message: "'this line has no equals sign' is not UPSTREAM=LOCAL")
        ) {
            try Mirrors(contentsOfFile: bad)
        }
        #expect(throws: MirrorError.self) { try Mirrors(contentsOfFile: folder + "/missing.txt") }
    }

    @Test func badRulesAreRefusedSayingWhy() {
        func message(_ rule: String) -> String? {
            do {
                _ = try Mirrors(rules: [rule])
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(message("quay.io") == "--mirror 'quay.io': 'quay.io' is not UPSTREAM=LOCAL")
        #expect(message("=x") == "--mirror '=x': '=x' is not UPSTREAM=LOCAL: both sides are needed")
        #expect(
            message("https://dl.k8s.io/=nexus.corp/k8s")
                == "--mirror 'https://dl.k8s.io/=nexus.corp/k8s': the mirror 'nexus.corp/k8s' is not an http(s) URL")
        #expect(
            message("ftp://x/=https://y/")
                == "--mirror 'ftp://x/=https://y/': the upstream 'ftp://x/' is not an http(s) URL")
        #expect(
            message("quay.io=https://nexus.corp")
                == "--mirror 'quay.io=https://nexus.corp': a registry mirror is host[:port][/path], without a scheme: 'https://nexus.corp'"
        )
        #expect(
            message("quay.io/argoproj=nexus")
                == "--mirror 'quay.io/argoproj=nexus': 'quay.io/argoproj' is neither a URL prefix (with http:// or https://) nor a registry host[:port]"
        )
        #expect(
            message("quay.io=nexus.corp/Bad Path")
                == "--mirror 'quay.io=nexus.corp/Bad Path': 'nexus.corp/Bad Path' is not a registry host[:port][/path-prefix]"
        )
    }

    @Test func aSecondRuleForTheSameUpstreamMustAgree() throws {
        #expect(throws: MirrorError(origin: "--mirror 'quay.io=b'", message: "quay.io is already mirrored to a")) {
            try Mirrors(rules: ["quay.io=a", "quay.io=b"])
        }
        #expect(throws: MirrorError.self) { try Mirrors(rules: ["https://x/=https://a/", "https://x/=https://b/"]) }
        let repeated = try Mirrors(rules: ["quay.io=a", "quay.io=a"])
        #expect(repeated.registries.count == 1)
    }
}
