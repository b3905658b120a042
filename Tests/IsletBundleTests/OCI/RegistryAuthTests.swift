import Foundation
import Testing

@testable import IsletBundle

/// Basic auth against docker-registry's htpasswd, and the Bearer token flow against its token auth with a
/// real token service; credentials come from Docker config.json files the tests write.
@Suite(.serialized) struct RegistryAuthTests {
    static let amd64 = Platform(os: "linux", architecture: "amd64")
    static let user = "islet"
    static let password = "islet-pull-secret"
    /// bcrypt of `password` (distribution's htpasswd accepts bcrypt only).
    static let passwordHash = "$2b$04$Sa1M6aImRzIhEzTzxkmQgOonE/n27AskGdY.yScnB3jL5xDffHAZC"

    static func dockerConfig(_ json: String, in directory: String) throws -> RegistryCredentials {
        let path = "\(directory)/config-\(UUID().uuidString.prefix(6)).json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return try RegistryCredentials(dockerConfigAt: path)
    }

    @Test func basicAuthUsesConfigJsonAndNeverShowsTheSecret() throws {
        let directory = try makeScratchDirectory("islet-auth")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let registry = try RegistryServer(auth: .basic(user: Self.user, bcryptHash: Self.passwordHash))
        defer { registry.stop() }
        var images = try TestImages(layout: "\(directory)/source")
        let built = try images.build(name: "app", platforms: ["linux/amd64"], style: .oci)
        try images.seed("app", to: "\(registry.host)/team/app:1", credentials: "\(Self.user):\(Self.password)")
        let reference = try ImageReference(parsing: "\(registry.host)/team/app:1")
        let layout = try ImageLayout.create(at: "\(directory)/oci")
        func client(_ credentials: RegistryCredentials) -> RegistryClient {
            loopbackClient(RegistryOptions(credentials: credentials, plainHTTPHosts: [registry.host]))
        }
        func pull(_ credentials: RegistryCredentials) throws -> PulledImage {
            try client(credentials).pull(reference, platforms: [Self.amd64], into: layout)
        }

        let encoded = Data("\(Self.user):\(Self.password)".utf8).base64EncodedString()
        let good = try Self.dockerConfig(
            #"{"auths":{"http://\#(registry.host)/v2/":{"auth":"\#(encoded)"}}}"#, in: directory)
        #expect(try pull(good).digest.description == built.root.digest)
        let fields = try Self.dockerConfig(
            #"{"auths":{"\#(registry.host)":{"username":"\#(Self.user)","password":"\#(Self.password)"}}}"#,
            in: directory)
        let target = try ImageReference(parsing: "\(registry.host)/pushed/app:1")
        #expect(try client(fields).push(reference, from: layout, to: target).manifestsSent == 2)

        let none = try Self.dockerConfig(#"{"auths":{}}"#, in: directory)
        #expect {
            try pull(none)
        } throws: { error in
            "\(error)"
                == "registry \(registry.host): it requires credentials and \(none.source!) has none for \(registry.host)"
        }
        let wrongSecret = "not-the-\(Self.password)"
        let wrong = try Self.dockerConfig(
            #"{"auths":{"\#(registry.host)":{"username":"\#(Self.user)","password":"\#(wrongSecret)"}}}"#, in: directory
        )
        #expect {
            try pull(wrong)
        } throws: { error in
            let text = "\(error)"
            return text
                == "registry \(registry.host): the credentials for \(registry.host) in \(wrong.source!) were refused"
                && !text.contains(wrongSecret)
        }
        let helper = try Self.dockerConfig(#"{"auths":{},"credsStore":"desktop"}"#, in: directory)
        #expect {
            try pull(helper)
        } throws: { error in
            "\(error)".contains("credential helper 'desktop'; islet does not run credential helpers")
        }
    }

    /// Anonymous pulls get a pull token from the 401 challenge's realm, fetched once per scope however
    /// many blobs follow; a push asks for a pull,push token with the config.json credentials.
    @Test func bearerTokensFromTheChallengeAreCachedPerScope() throws {
        let directory = try makeScratchDirectory("islet-auth")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tokens = try TokenServer(user: Self.user, password: Self.password)
        defer { tokens.stop() }
        let registry = try RegistryServer(
            auth: .token(
                realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, certificate: tokens.certificate))
        defer { registry.stop() }
        var images = try TestImages(layout: "\(directory)/source")
        let built = try images.build(name: "app", platforms: ["linux/amd64", "linux/arm64"], style: .oci)
        try images.seed("app", to: "\(registry.host)/team/app:1", credentials: "\(Self.user):\(Self.password)")
        let seedRequests = tokens.requests().count
        let reference = try ImageReference(parsing: "\(registry.host)/team/app:1")
        let layout = try ImageLayout.create(at: "\(directory)/oci")

        let anonymous = loopbackClient(RegistryOptions(plainHTTPHosts: [registry.host]))
        let pulled = try anonymous.pull(reference, platforms: [], into: layout)
        #expect(pulled.digest.description == built.root.digest)
        let pulls = tokens.requests().dropFirst(seedRequests)
        #expect(pulls.map(\.scopes) == [["repository:team/app:pull"]])
        #expect(pulls.map(\.authenticated) == [false])

        let target = try ImageReference(parsing: "\(registry.host)/mirror/app:1")
        #expect {
            try anonymous.push(reference, from: layout, to: target)
        } throws: { error in
            "\(error)".hasPrefix("registry \(registry.host): access to 'repository:mirror/app:pull,push' was refused")
        }
        let credentials = try Self.dockerConfig(
            #"{"auths":{"\#(registry.host)":{"username":"\#(Self.user)","password":"\#(Self.password)"}}}"#,
            in: directory)
        let before = tokens.requests().count
        let pusher = loopbackClient(RegistryOptions(credentials: credentials, plainHTTPHosts: [registry.host]))
        let report = try pusher.push(reference, from: layout, to: target)
        #expect(report.blobsSent == 5)
        let pushes = tokens.requests().dropFirst(before)
        #expect(pushes.map(\.scopes) == [["repository:mirror/app:pull,push"]])
        #expect(pushes.map(\.authenticated) == [true])
    }
}
