import Foundation
import Testing

@testable import IsletCore

/// A node that stops answering mid-apply costs one timeout, not one per step.
@Suite struct LostNodeTests {
    /// The local transport, except that node `frozen` stops answering after its plan probe: each later
    /// round trip fails as an SSH timeout would. Counts round trips per node.
    final class FreezingTransport: Transport, @unchecked Sendable {
        let local: LocalTransport
        let frozen: String
        let lock = NSLock()
        var roundTrips: [String: Int] = [:]

        init(_ directory: String, frozen: String) {
            local = LocalTransport(baseDirectory: directory)
            self.frozen = frozen
        }

        func connect(to node: NodeAddress) async throws -> any NodeSession {
            Session(inner: try await local.connect(to: node), node: node.name, transport: self)
        }

        final class Session: NodeSession, @unchecked Sendable {
            let inner: any NodeSession
            let node: String
            let transport: FreezingTransport

            init(inner: any NodeSession, node: String, transport: FreezingTransport) {
                self.inner = inner
                self.node = node
                self.transport = transport
            }

            var filesystemRoot: String { inner.filesystemRoot }
            var summary: String { inner.summary }

            func run(feed: ScriptFeed, output: @escaping @Sendable (OutputChunk) -> Void) async throws
                -> IsletCore.ExitStatus
            {
                let count = transport.lock.withLock {
                    transport.roundTrips[node, default: 0] += 1
                    return transport.roundTrips[node]!
                }
                if node == transport.frozen && count > 1 {
                    feed.close()
                    throw FrozenNode(node: node)
                }
                return try await inner.run(feed: feed, output: output)
            }

            func upload(_ upload: Upload) async throws -> UploadResult {
                try await inner.upload(upload)
            }

            func forward(toHost host: String, port: Int) async throws -> any PortForward {
                try await inner.forward(toHost: host, port: port)
            }

            func close() async { await inner.close() }
        }
    }

    struct FrozenNode: Error, CustomStringConvertible {
        var node: String
        var description: String { "node \(node): the server sent nothing for 60 s (timeout)" }
    }

    @Test func theFirstTimeoutSkipsTheRestOfTheNodesStepsAtOnce() async throws {
        let platform = TestPlatform()
        platform.stack(
            "work",
            """
            roles: [{name: web}, {name: lead}]
            steps:
              - {name: one, check: 'test -f "$ISLET_ROOT/one"', apply: 'touch "$ISLET_ROOT/one"'}
              - name: slow
                scope: cluster
                roles: [lead]
                check: test -f "$ISLET_ROOT/slow"
                apply: sleep 0.3 && touch "$ISLET_ROOT/slow"
              - {name: later, after: [slow], check: 'test -f "$ISLET_ROOT/later"', apply: 'touch "$ISLET_ROOT/later"'}
              - {name: last, after: [later], check: 'test -f "$ISLET_ROOT/last"', apply: 'touch "$ISLET_ROOT/last"'}
            """)
        platform.inventory(nodes: [("n1", ["web", "lead"]), ("n2", ["web"])])
        let transport = FreezingTransport(platform.nodesDirectory, frozen: "n2")
        let (_, result) = try await platform.apply(transport: transport)
        let outcomes = Dictionary(
            uniqueKeysWithValues: result.results.map { ("\($0.change.node) \($0.change.step.step)", $0.outcome) })
        #expect(outcomes["n1 one"]?.succeeded == true)
        #expect(outcomes["n1 later"]?.succeeded == true)
        #expect(outcomes["n1 last"]?.succeeded == true)
        guard case .failed(let message, _)? = outcomes["n2 one"] else {
            Issue.record("n2 one should fail: \(String(describing: outcomes["n2 one"]))")
            return
        }
        #expect(message.contains("timeout"))
        // `later` became ready only after `slow` on n1: by then n2 was known dead, so no round trip was tried.
        guard case .skipped(let reason)? = outcomes["n2 later"] else {
            Issue.record("n2 later should be skipped: \(String(describing: outcomes["n2 later"]))")
            return
        }
        #expect(reason.contains("node n2 stopped answering earlier in this run"))
        #expect(reason.contains("timeout"))
        #expect(transport.lock.withLock { transport.roundTrips["n2"] } == 2, "the probe and the one batch that failed")
    }
}
