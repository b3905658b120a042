import Foundation
import HummingbirdBcrypt
import Testing

@testable import IsletCore

/// `when:` steps and certificate secrets together, as the registry stack uses them: a step that exists only
/// while a boolean setting is on, holding an authority islet keeps and a server certificate it issues.
@Suite struct ConditionalCertificateTests {
    func platform(tls: Bool, host: String = "registry.lan") -> TestPlatform {
        let platform = TestPlatform()
        platform.stack(
            "registry",
            """
            roles: [{name: registry}, {name: worker}]
            settings:
              - {key: tls, type: boolean, default: true, description: serve HTTPS}
              - {key: host, type: string, default: registry.lan, description: the name}
            steps:
              - name: certificate
                roles: [registry]
                when: settings.tls
                inputs: {HOST: settings.host, ADDRESS: node.address}
                secrets:
                  - {name: CA, kind: certificate-authority, commonName: test CA, file: test-ca.crt}
                  - {name: TLS, kind: certificate, authority: CA, dnsNames: [HOST], ipAddresses: [ADDRESS]}
                files:
                  - {template: crt, destination: /tls/server.crt, mode: "0644"}
                  - {template: key, destination: /tls/server.key, mode: "0600"}
                check: "true"
                apply: "true"
                remove: rm -rf "$ISLET_ROOT/tls"
              - name: trust
                roles: [worker]
                inputs: {CA: steps.certificate.CA_CERT}
                files: [{template: ca, destination: /trust/ca.crt, mode: "0644"}]
                check: "true"
                apply: "true"
            """, files: ["crt": "{{TLS_CERT}}", "key": "{{TLS_KEY}}", "ca": "{{CA}}"])
        platform.inventory(
            nodes: [("infra", ["registry"]), ("w1", ["worker"])], settings: "  tls: \(tls)\n  host: \(host)\n")
        return platform
    }

    func setTLS(_ tls: Bool, host: String = "registry.lan", in platform: TestPlatform) {
        platform.inventory(
            nodes: [("infra", ["registry"]), ("w1", ["worker"])], settings: "  tls: \(tls)\n  host: \(host)\n")
    }

    @Test func theAuthorityIsKeptTheCertificateFollowsItsHostsAndWhenTurnsTheStepOnAndOff() async throws {
        let platform = platform(tls: true)
        let (first, result) = try await platform.apply()
        #expect(result.succeeded)
        #expect(first.action("infra", "registry/certificate") == .create)
        let authority = try #require(platform.read(node: "w1", "/trust/ca.crt"))
        #expect(authority.hasPrefix("-----BEGIN CERTIFICATE-----"))
        // The operator gets the same certificate in the state folder; its key stays in the secrets file only.
        let kept = try String(contentsOfFile: platform.directory + "/.islet/test-ca.crt", encoding: .utf8)
        #expect(kept == authority)
        let server = try #require(platform.read(node: "infra", "/tls/server.crt"))
        let key = try #require(platform.read(node: "infra", "/tls/server.key"))
        #expect(key.contains("PRIVATE KEY"))
        #expect(!authority.contains("PRIVATE KEY") && !server.contains("PRIVATE KEY"))
        let secrets = try String(contentsOfFile: platform.directory + "/.islet/secrets.json", encoding: .utf8)
        #expect(secrets.contains("secret:registry/certificate/CA"))

        // Nothing churns: the certificate still serves, so a new plan has nothing to do.
        let steady = try await platform.plan()
        #expect(steady.table.isEmpty, "\(steady.table)")

        // Another host name: a new certificate from the same authority; the nodes trusting it change nothing.
        setTLS(true, host: "registry.example", in: platform)
        let renamed = try await platform.plan()
        #expect(renamed.action("infra", "registry/certificate") == .update)
        #expect(renamed.table == ["infra registry/certificate update"], "\(renamed.table)")
        let (_, reissuing) = try await platform.apply()
        #expect(reissuing.succeeded)
        let reissued = try #require(platform.read(node: "infra", "/tls/server.crt"))
        #expect(reissued != server)
        #expect(platform.read(node: "w1", "/trust/ca.crt") == authority)

        // Turned off: the step's remove runs and readers of its outputs read an empty value.
        setTLS(false, host: "registry.example", in: platform)
        let (off, turningOff) = try await platform.apply()
        #expect(turningOff.succeeded)
        #expect(off.action("infra", "registry/certificate") == .remove)
        #expect(off.action("w1", "registry/trust") == .update)
        #expect(platform.read(node: "infra", "/tls/server.crt") == nil)
        #expect(platform.read(node: "w1", "/trust/ca.crt") == "")
        let quiet = try await platform.plan()
        #expect(quiet.table.isEmpty, "\(quiet.table)")

        // On again: the same authority, so nothing that trusted it before must learn a new one.
        setTLS(true, host: "registry.example", in: platform)
        let (_, turningOn) = try await platform.apply()
        #expect(turningOn.succeeded)
        #expect(platform.read(node: "w1", "/trust/ca.crt") == authority)
    }

    @Test func aBcryptSecretHashesItsPasswordOnceAndIsStable() async throws {
        let platform = TestPlatform()
        platform.stack(
            "registry",
            """
            roles: [{name: registry}]
            steps:
              - name: credentials
                roles: [registry]
                secrets:
                  - {name: PASSWORD, length: 32}
                  - {name: HASH, kind: bcrypt, of: PASSWORD}
                files: [{template: htpasswd, destination: /auth/htpasswd, mode: "0600"}]
                check: "true"
                apply: "true"
            """, files: ["htpasswd": "islet:{{HASH}}\n"])
        platform.inventory(nodes: [("infra", ["registry"])])
        let (_, result) = try await platform.apply()
        #expect(result.succeeded)
        let line = try #require(platform.read(node: "infra", "/auth/htpasswd"))
        let hash = String(line.dropFirst("islet:".count).dropLast())
        #expect(hash.hasPrefix("$2b$05$"), "\(line)")
        let store = try SecretStore.open(path: platform.directory + "/.islet/secrets.json", lineage: nil)
        let password = try #require(store["secret:registry/credentials/PASSWORD"])
        #expect(Bcrypt.verify(password, hash: hash))
        // Salted once: a new plan keeps the hash, so nothing changes.
        #expect(try await platform.plan().table.isEmpty)
    }

    @Test func secretKindsAndConditionsAreCheckedAtValidate() throws {
        let platform = TestPlatform()
        platform.stack(
            "registry",
            """
            roles: [{name: registry}]
            settings:
              - {key: port, type: port, default: 5000, description: a port}
            steps:
              - name: a
                roles: [registry]
                when: settings.port
                inputs: {HOST: settings.port}
                secrets:
                  - {name: CA, kind: authority, commonName: x}
                  - {name: TLS, kind: certificate, authority: NOPE, dnsNames: [NAME]}
                  - {name: EMPTY, kind: certificate, authority: NOPE}
                  - {name: PASS, kind: password, commonName: x}
                check: "true"
                apply: "true"
            artifactStore: {step: a, port: settings.port, authority: a.PASS}
            """)
        platform.inventory(nodes: [("infra", ["registry"])])
        var message = ""
        do { _ = try platform.workspace() } catch { message = "\(error)" }
        #expect(
            message.contains("is conditional on setting 'port' of type port; expected a boolean setting"), "\(message)")
        #expect(
            message.contains(
                "unknown secret kind 'authority'; expected password, bcrypt, certificate-authority or certificate")
        )
        #expect(message.contains("authority 'NOPE' is not a certificate-authority secret declared before this one"))
        #expect(message.contains("dnsNames entry 'NAME' is not an input of the step; expected one of HOST"))
        #expect(message.contains("certificate 'EMPTY' names no host; expected dnsNames or ipAddresses"))
        #expect(message.contains("unknown key 'commonName' in 'secrets item'"))
        #expect(
            message.contains("artifactStore authority 'registry/a.PASS' is not a secret of kind certificate-authority"))
    }
}
