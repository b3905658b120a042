import Testing

@testable import IsletBundle

@Suite struct ImageReferenceTests {
    /// Docker's normalisation: Hub and `library/`, host detection, tag, digest, both.
    @Test(arguments: [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.27", "docker.io/library/nginx:1.27"),
        ("bitnami/redis", "docker.io/bitnami/redis:latest"),
        ("docker.io/redis:8", "docker.io/library/redis:8"),
        ("index.docker.io/library/redis:8", "docker.io/library/redis:8"),
        ("quay.io/argoproj/argocd:v3.4.4", "quay.io/argoproj/argocd:v3.4.4"),
        ("registry.k8s.io/pause:3.10.2", "registry.k8s.io/pause:3.10.2"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/team/app:1.0", "localhost:5000/team/app:1.0"),
        ("127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"),
        ("Registry.Example.com/a_b/c__d/e-f--g:V1.0-rc_1", "registry.example.com/a_b/c__d/e-f--g:V1.0-rc_1"),
        (
            "redis@sha256:" + String(repeating: "a", count: 64),
            "docker.io/library/redis@sha256:" + String(repeating: "a", count: 64)
        ),
        (
            "ghcr.io/o/r:v2@sha256:" + String(repeating: "0", count: 64),
            "ghcr.io/o/r:v2@sha256:" + String(repeating: "0", count: 64)
        ),
    ])
    func normalises(_ input: String, _ expected: String) throws {
        #expect(try ImageReference(parsing: input).description == expected)
    }

    @Test func splitsIntoRegistryRepositoryTagAndDigest() throws {
        let reference = try ImageReference(
            parsing: "localhost:5000/team/app:1.0@sha256:" + String(repeating: "b", count: 64))
        #expect(reference.registry == "localhost:5000")
        #expect(reference.repository == "team/app")
        #expect(reference.tag == "1.0")
        #expect(reference.digest?.hex == String(repeating: "b", count: 64))
        #expect(reference.manifestReference == "sha256:" + String(repeating: "b", count: 64))
        // A first element without '.' or ':' is a Docker Hub path, not a host.
        #expect(try ImageReference(parsing: "team/app").registry == "docker.io")
        #expect(try ImageReference(parsing: "team/app").repository == "team/app")
    }

    /// Errors name the reference and say what is wrong.
    @Test(arguments: [
        ("", "empty"),
        ("Nginx", "must be lowercase"),
        ("nginx:", "tag '' is not valid"),
        ("nginx:-bad", "tag '-bad' is not valid"),
        ("a//b", "empty path element"),
        ("quay.io/", "empty path element"),
        ("nginx@sha256:abc", "not a sha256 digest"),
        ("nginx@md5:" + String(repeating: "a", count: 32), "not a sha256 digest"),
        ("my image", "spaces"),
        ("quay.io/a..b", "'a..b' is not a valid path element"),
        ("bad_host.io:99x/app", "is not a registry host"),
    ])
    func refuses(_ input: String, _ reason: String) {
        do {
            _ = try ImageReference(parsing: input)
            Issue.record("\(input) was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.hasPrefix("image reference '\(input)'"), "\(text)")
            #expect(text.contains(reason), "\(text)")
        }
    }

    /// The internal name keeps the upstream host as the first path element, so sources never collide.
    @Test func internalNameKeepsTheUpstreamHost() throws {
        let cases = [
            ("quay.io/argoproj/argocd:v3.4.4", "10.0.0.5:5000/quay.io/argoproj/argocd:v3.4.4"),
            ("registry.k8s.io/pause:3.10.2", "10.0.0.5:5000/registry.k8s.io/pause:3.10.2"),
            ("redis:8", "10.0.0.5:5000/docker.io/library/redis:8"),
            ("127.0.0.1:5001/app:1", "10.0.0.5:5000/127.0.0.1_5001/app:1"),
        ]
        for (upstream, expected) in cases {
            #expect(
                try ImageReference(parsing: upstream).internalReference(at: "10.0.0.5:5000").description == expected)
        }
        let one = try ImageReference(parsing: "quay.io/team/app:1").internalRepository
        let other = try ImageReference(parsing: "ghcr.io/team/app:1").internalRepository
        #expect(one != other)
        // The internal name parses back to the same registry and repository.
        let parsed = try ImageReference(parsing: "10.0.0.5:5000/quay.io/argoproj/argocd:v3.4.4")
        #expect(parsed.registry == "10.0.0.5:5000")
        #expect(parsed.repository == "quay.io/argoproj/argocd")
    }

    @Test func platformsParseAndMatchWithDefaultVariants() throws {
        let arm64 = try Platform(parsing: "linux/arm64")
        #expect(arm64.description == "linux/arm64")
        #expect(Platform(os: "linux", architecture: "arm64", variant: "v8").serves(arm64))
        #expect(Platform(os: "linux", architecture: "arm64").serves(try Platform(parsing: "linux/arm64/v8")))
        #expect(
            !Platform(os: "linux", architecture: "arm", variant: "v6").serves(try Platform(parsing: "linux/arm/v7")))
        #expect(!Platform(os: "linux", architecture: "amd64").serves(arm64))
        #expect(throws: OCIError.self) { try Platform(parsing: "linux") }
        #expect(throws: OCIError.self) { try Platform(parsing: "linux//v8") }
    }
}
