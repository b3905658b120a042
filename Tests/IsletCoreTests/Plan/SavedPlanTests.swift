import Foundation
import Testing

@testable import IsletCore

/// A saved plan is applied exactly as islet wrote it, and only with changes islet would plan now.
@Suite struct SavedPlanTests {
    func platform() -> TestPlatform {
        let platform = TestPlatform()
        platform.stack(
            "base",
            """
            roles: [{name: web}]
            steps:
              - {name: directories, check: "test -f \\"$ISLET_ROOT/a\\"", apply: "touch \\"$ISLET_ROOT/a\\""}
            """)
        platform.inventory(nodes: [("n1", ["web"]), ("n2", ["web"])])
        return platform
    }

    @Test func aSavedPlanIsPrivateReadsAsWrittenAndLoadsBack() async throws {
        let platform = platform()
        let plan = try await platform.plan()
        let path = platform.directory + "/plan.json"
        try SavedPlan.write(plan, to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\"base/directories\""))
        #expect(!text.contains("\\/"))
        #expect(text.contains("\"digest\" : \"sha256:"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let loaded = try SavedPlan.load(from: path, for: try platform.workspace())
        #expect(loaded.table == plan.table)
        #expect(!String(decoding: try SavedPlan.encode(plan), as: UTF8.self).contains("\\/"))
    }

    @Test func anEditedPlanIsRefusedAsChanged() async throws {
        let platform = platform()
        try await platform.apply()
        platform.write(platform.node("n1", "/a"), "")
        try FileManager.default.removeItem(atPath: platform.node("n1", "/a"))
        let path = platform.directory + "/plan.json"
        try SavedPlan.write(try await platform.plan(), to: path)
        let edited = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "\"repair\"", with: "\"remove\"")
        try edited.write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            try SavedPlan.load(from: path, for: try platform.workspace())
        } throws: { error in
            "\(error)"
                == "\(path): the plan was changed after islet saved it (its content no longer matches its digest); a saved plan is applied only exactly as `islet plan --out` wrote it. Run islet plan again."
        }
    }

    /// Even with its digest recomputed, a plan cannot remove a step that is still desired or act on a node
    /// that does not exist.
    @Test func changesIsletWouldNotPlanAreRefused() async throws {
        let platform = platform()
        try await platform.apply()
        var plan = try await platform.plan()
        plan.changes = [
            PlannedChange(node: "n1", step: StepID(stack: "base", step: "directories"), action: .remove, reason: "x"),
            PlannedChange(node: "n9", step: StepID(stack: "base", step: "directories"), action: .create, reason: "x"),
            PlannedChange(node: "../x", step: StepID(stack: "base", step: "directories"), action: .repair, reason: "x"),
            PlannedChange(node: "n2", step: StepID(stack: "base", step: "directories"), action: .create, reason: "x"),
        ]
        let path = platform.directory + "/plan.json"
        try SavedPlan.write(plan, to: path)
        #expect {
            try SavedPlan.load(from: path, for: try platform.workspace())
        } throws: { error in
            "\(error)"
                == "\(path): the saved plan holds changes the current inventory, stacks and state do not allow: "
                + "change 1 (n1 base/directories remove): the step is still desired on this node; only what is no longer desired is removed; "
                + "change 2 (n9 base/directories create): the step does not run on this node (no such node or step in the inventory and stacks); "
                + "change 3 (../x base/directories repair): node name '../x' is not a DNS label; expected letters, digits and '-', at most 63; "
                + "change 4 (n2 base/directories create): the step is already recorded on this node. Run islet plan again."
        }
    }

    @Test func aMissingOrForeignPlanFileSaysWhatWasExpected() throws {
        let dir = NSTemporaryDirectory() + "islet-plan-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect {
            try SavedPlan.read(from: dir + "/missing.json")
        } throws: { error in
            "\(error)"
                == "\(dir)/missing.json: no such file; expected a plan saved by `islet plan --out \(dir)/missing.json`"
        }
        try Data("{\"formatVersion\": 1}".utf8).write(to: URL(fileURLWithPath: dir + "/partial.json"))
        #expect {
            try SavedPlan.read(from: dir + "/partial.json")
        } throws: { error in
            "\(error)"
                == "\(dir)/partial.json: not a saved islet plan (missing field 'isletVersion'); expected a file written by `islet plan --out`"
        }
        try Data("not json".utf8).write(to: URL(fileURLWithPath: dir + "/text.json"))
        #expect {
            try SavedPlan.read(from: dir + "/text.json")
        } throws: { error in
            "\(error)"
                == "\(dir)/text.json: not a saved islet plan (not valid JSON); expected a file written by `islet plan --out`"
        }
        #expect {
            try SavedPlan.write(
                Plan(
                    createdAt: "", serial: 0, inventoryDigest: "", stacksDigest: "", changes: [], facts: [:],
                    failures: []),
                to: dir + "/no/such/folder/plan.json")
        } throws: { error in
            "\(error)"
                == "\(dir)/no/such/folder/plan.json: the folder \(dir)/no/such/folder does not exist; expected an existing folder"
        }
    }
}

/// `--target`, `--replace` and `--parallel` are checked before any node is contacted.
@Suite struct SelectionTests {
    func workspace() throws -> (TestPlatform, Workspace) {
        let platform = TestPlatform()
        platform.stack("base", "roles: [{name: web}]\nsteps:\n  - {name: a, check: \"true\", apply: \"true\"}\n")
        platform.inventory(nodes: [("n1", ["web"]), ("n2", ["web"])])
        return (platform, try platform.workspace())
    }

    @Test(arguments: [0, -3])
    func parallelBelowOneIsRefused(_ value: Int) throws {
        let (platform, workspace) = try workspace()
        withExtendedLifetime(platform) {}
        #expect(
            throws: SelectionError(
                option: "--parallel", value: String(value),
                expected: "how many nodes to work on at once, a whole number of at least 1")
        ) {
            try Selection(target: nil, replace: [], parallel: value, workspace: workspace)
        }
    }

    @Test func anUnknownTargetListsTheNodes() throws {
        let (platform, workspace) = try workspace()
        withExtendedLifetime(platform) {}
        #expect {
            try Selection(target: "n3", replace: [], parallel: 1, workspace: workspace)
        } throws: { error in
            "\(error)" == "--target n3: expected a node of the inventory or the state (n1, n2)"
        }
    }

    @Test func replaceNamesAStepOnANode() throws {
        let (platform, workspace) = try workspace()
        withExtendedLifetime(platform) {}
        let selection = try Selection(target: "n1", replace: ["n2/base/a"], parallel: 3, workspace: workspace)
        #expect(selection.replace == [StepInstance(step: StepID(stack: "base", step: "a"), node: "n2")])
        #expect(selection.target == "n1" && selection.parallel == 3)
        #expect {
            try Selection(target: nil, replace: ["n2/base"], parallel: 1, workspace: workspace)
        } throws: { error in
            "\(error)" == "--replace n2/base: expected NODE/STACK/STEP naming a step that runs on that node"
        }
    }
}

/// `status --refresh` exit codes.
@Suite struct StatusExitTests {
    @Test func unreachableIsOneDriftIsTwoOnlyWhenAsked() async throws {
        let platform = TestPlatform()
        platform.stack(
            "base",
            "roles: [{name: web}]\nsteps:\n  - {name: a, check: \"test -f \\\"$ISLET_ROOT/a\\\"\", apply: \"touch \\\"$ISLET_ROOT/a\\\"\"}\n"
        )
        platform.inventory(nodes: [("n1", ["web"])])
        try await platform.apply()
        let clean = try await platform.plan()
        #expect(StatusRenderer.exitStatus(live: clean, detailedExitcode: true) == 0)
        try FileManager.default.removeItem(atPath: platform.node("n1", "/a"))
        let drifted = try await platform.plan()
        #expect(StatusRenderer.exitStatus(live: drifted, detailedExitcode: true) == 2)
        #expect(StatusRenderer.exitStatus(live: drifted, detailedExitcode: false) == 0)
        var unreachable = drifted
        unreachable.failures = [NodeFailure(node: "n1", message: "cannot connect")]
        #expect(StatusRenderer.exitStatus(live: unreachable, detailedExitcode: false) == 1)
        #expect(StatusRenderer.exitStatus(live: nil, detailedExitcode: true) == 0)
    }
}
