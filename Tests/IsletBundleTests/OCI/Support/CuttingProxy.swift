import Foundation
import IsletTestSupport

/// A TCP proxy on 127.0.0.1 in front of a real registry that cuts the connection once, part-way through
/// the answer to the first request whose line contains `cutOn`: the operator's link failing in the middle
/// of a layer. Every request line it forwards is logged, with its Range header if any.
final class CuttingProxy: @unchecked Sendable {
    let directory: String
    let port: Int
    private var pid: pid_t = 0

    var host: String { "127.0.0.1:\(port)" }

    /// - Parameters:
    ///   - upstreamPort: the registry's port on 127.0.0.1.
    ///   - cutOn: text of the request line to cut the answer of (a blob digest).
    ///   - after: bytes of that answer (headers included) passed on before the cut.
    init(upstreamPort: Int, cutOn: String, after: Int) throws {
        directory = try makeScratchDirectory("islet-proxy")
        try Self.script.write(toFile: "\(directory)/proxy.py", atomically: true, encoding: .utf8)
        (pid, port) = try startServer(
            [
                "/usr/bin/python3", "\(directory)/proxy.py", String(upstreamPort), cutOn, String(after),
                "\(directory)/requests.log", "\(directory)/port",
            ], portFile: "\(directory)/port", log: "\(directory)/proxy.log")
    }

    deinit { stop() }

    func stop() {
        terminate(&pid)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The request lines forwarded so far, each followed by ` range=<Range header>` when it had one.
    func requests() -> [String] {
        ((try? String(contentsOfFile: "\(directory)/requests.log", encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    private static let script = #"""
        import os, socket, sys, threading

        upstream_port, cut_on, cut_after, log_path, port_file = sys.argv[1:]
        upstream_port, cut_after = int(upstream_port), int(cut_after)
        lock = threading.Lock()
        state = {"cut": False}

        def log(line):
            with lock, open(log_path, "a") as f:
                f.write(line + "\n")

        def serve(client):
            server = socket.create_connection(("127.0.0.1", upstream_port))
            watch = {"armed": False, "sent": 0}

            def requests():
                try:
                    while True:
                        data = client.recv(65536)
                        if not data:
                            break
                        text = data.decode("latin-1")
                        line = text.split("\r\n", 1)[0]
                        if line.split(" ")[0] in ("GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"):
                            ranges = [h.split(":", 1)[1].strip() for h in text.split("\r\n") if h.lower().startswith("range:")]
                            log(line + (" range=" + ranges[0] if ranges else ""))
                            with lock:
                                if cut_on in line and not state["cut"]:
                                    state["cut"] = True
                                    watch["armed"] = True
                        server.sendall(data)
                except OSError:
                    pass
                try:
                    server.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

            threading.Thread(target=requests, daemon=True).start()
            try:
                while True:
                    data = server.recv(65536)
                    if not data:
                        break
                    if watch["armed"]:
                        left = cut_after - watch["sent"]
                        if len(data) >= left:
                            client.sendall(data[:left])
                            break
                        watch["sent"] += len(data)
                    client.sendall(data)
            except OSError:
                pass
            for s in (client, server):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(listener.getsockname()[1]))
        os.rename(port_file + ".tmp", port_file)
        while True:
            connection, _ = listener.accept()
            threading.Thread(target=serve, args=(connection,), daemon=True).start()
        """#
}
