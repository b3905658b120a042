import Foundation
import IsletTestSupport

/// A Docker token service (the `realm` of distribution's token auth) on 127.0.0.1: Python's standard
/// library serving JWTs signed RS256 with `openssl dgst` by a key and self-signed certificate made for the
/// test, sent in the `x5c` header so the registry verifies them against its `rootcertbundle`.
/// Anyone gets `pull`; `push` needs the one user's Basic credentials. Each token request is logged.
final class TokenServer: @unchecked Sendable {
    let directory: String
    let port: Int
    let certificate: String
    let issuer = "islet-test-issuer"
    let service = "islet-test-registry"
    private var pid: pid_t = 0

    var realm: String { "http://127.0.0.1:\(port)/token" }
    var requestLog: String { "\(directory)/requests.log" }

    init(user: String, password: String) throws {
        directory = try makeScratchDirectory("islet-token")
        certificate = "\(directory)/cert.pem"
        try toolOutput([
            "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(directory)/key.pem",
            "-out", certificate, "-days", "2", "-subj", "/CN=islet-test-token-issuer",
        ])
        try Self.script.write(toFile: "\(directory)/token-server.py", atomically: true, encoding: .utf8)
        (pid, port) = try startServer(
            [
                "/usr/bin/python3", "\(directory)/token-server.py", "\(directory)/key.pem", certificate, issuer, user,
                password, "\(directory)/requests.log", "\(directory)/port",
            ], portFile: "\(directory)/port", log: "\(directory)/server.log")
    }

    deinit { stop() }

    func stop() {
        terminate(&pid)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The token requests so far: the scopes asked for and whether Basic credentials came with them.
    func requests() -> [(scopes: [String], authenticated: Bool)] {
        let text = (try? String(contentsOfFile: requestLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            struct Entry: Decodable {
                var scopes: [String]
                var authenticated: Bool
            }
            return (try? JSONDecoder().decode(Entry.self, from: Data(line.utf8))).map { ($0.scopes, $0.authenticated) }
        }
    }

    private static let script = #"""
        import base64, json, os, subprocess, sys, time, uuid
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlparse, parse_qs

        key, cert_path, issuer, user, password, log_path, port_file = sys.argv[1:]
        with open(cert_path) as f:
            cert = "".join(line for line in f.read().splitlines() if not line.startswith("-----"))

        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = parse_qs(urlparse(self.path).query)
                scopes = query.get("scope", [])
                authenticated = False
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    name, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                    if name != user or secret != password:
                        self.send_response(401)
                        self.end_headers()
                        return
                    authenticated = True
                access = []
                for scope in scopes:
                    kind, rest = scope.split(":", 1)
                    name, actions = rest.rsplit(":", 1)
                    allowed = [a for a in actions.split(",") if a == "pull" or authenticated]
                    access.append({"type": kind, "name": name, "actions": allowed})
                now = int(time.time())
                header = {"typ": "JWT", "alg": "RS256", "x5c": [cert]}
                claims = {"iss": issuer, "sub": user if authenticated else "", "aud": query.get("service", [""])[0],
                          "exp": now + 300, "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
                signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
                signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                                           capture_output=True, check=True).stdout
                token = signing_input + "." + b64(signature)
                with open(log_path, "a") as log:
                    log.write(json.dumps({"scopes": scopes, "authenticated": authenticated}) + "\n")
                body = json.dumps({"token": token, "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(port_file + ".tmp", port_file)
        server.serve_forever()
        """#
}
