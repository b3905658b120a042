import Foundation
import Testing

@testable import IsletCore

@Suite struct StatusRendererTests {
    @Test func statusShowsRecordsAndWithRefreshWhichStepsDrifted() async throws {
        let platform = TestPlatform()
        platform.stack(
            "web",
            """
            roles: [{name: web}]
            steps:
              - {name: a, check: "test -f \\"$ISLET_ROOT/a\\"", apply: "touch \\"$ISLET_ROOT/a\\""}
              - {name: b, check: "test -f \\"$ISLET_ROOT/b\\"", apply: "touch \\"$ISLET_ROOT/b\\""}
            """)
        platform.inventory(nodes: [("n1", ["web"])])
        #expect(
            StatusRenderer(style: Style(enabled: false)).render(try platform.workspace(), live: nil)
                == "No state yet: nothing has been applied. Run islet plan.")
        try await platform.apply()
        try FileManager.default.removeItem(atPath: platform.node("n1", "/b"))
        let workspace = try platform.workspace()
        let recorded = StatusRenderer(style: Style(enabled: false)).render(workspace, live: nil)
        let lines = recorded.split(separator: "\n").map(String.init)
        #expect(lines[0] == "State \(workspace.store.statePath): serial 2, lineage \(workspace.state!.lineage)")
        #expect(lines[1] == "n1  10.9.0.1:22")
        #expect(lines[2].hasPrefix("  web/a  sha256:") && lines[3].hasPrefix("  web/b  sha256:"))
        let live = StatusRenderer(style: Style(enabled: false)).render(workspace, live: try await platform.plan())
        let liveLines = live.split(separator: "\n").map(String.init)
        #expect(liveLines[2].hasSuffix("  ok"))
        #expect(liveLines[3].hasSuffix("  drifted"))
    }
}
