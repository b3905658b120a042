import Foundation
import Testing

@testable import IsletCore

/// The desired graph: where steps run, what each instance waits for, who produces what, removal order.
@Suite struct DesiredGraphTests {
    /// base (every node) → runtime (requires base) → a cluster step on the first control plane → a worker
    /// step reading its output; plus a step of `base` only on workers, with different placement.
    func graph(nodes: [(String, [String])] = [("cp1", ["control-plane"]), ("w1", ["worker"]), ("w2", ["worker"])])
        throws -> DesiredGraph
    {
        let platform = TestPlatform()
        platform.stack(
            "base",
            """
            roles: [{name: control-plane, min: 1}, {name: worker}]
            steps:
              - {name: users, check: "true", apply: "true"}
              - {name: dirs, after: [users], check: "true", apply: "true"}
              - {name: sysctl, after: [dirs], check: "true", apply: "true"}
              - {name: workerdirs, roles: [worker], after: [dirs], check: "true", apply: "true"}
            """)
        platform.stack(
            "runtime",
            """
            requires: [base]
            steps:
              - {name: install, check: "true", apply: "true"}
              - name: init
                scope: cluster
                roles: [control-plane]
                after: [install]
                outputs: [TOKEN]
                check: "true"
                apply: echo TOKEN=x >> "$ISLET_OUTPUT"
              - name: join
                roles: [worker]
                inputs: {TOKEN: steps.runtime/init.TOKEN}
                check: "true"
                apply: "true"
            """)
        platform.inventory(nodes: nodes)
        return try platform.workspace().graph
    }

    func waits(_ graph: DesiredGraph, _ node: String, _ step: String) -> [String] {
        guard let index = graph.index(of: StepInstance(step: StepID(step, defaultStack: nil)!, node: node)) else {
            Issue.record("\(node) \(step) is not desired")
            return []
        }
        return graph.dependencies[index].map { "\(graph.instances[$0].node) \(graph.instances[$0].step)" }.sorted()
    }

    @Test func stepsRunOnTheNodesHoldingTheirRolesAndClusterStepsOnTheFirst() throws {
        let graph = try graph()
        #expect(graph.instances(of: StepID(stack: "base", step: "users")).map(\.node) == ["cp1", "w1", "w2"])
        #expect(graph.instances(of: StepID(stack: "base", step: "workerdirs")).map(\.node) == ["w1", "w2"])
        #expect(graph.instances(of: StepID(stack: "runtime", step: "init")).map(\.node) == ["cp1"])
        #expect(graph.instances(of: StepID(stack: "runtime", step: "join")).map(\.node) == ["w1", "w2"])
        #expect(graph.instances.count == 3 + 3 + 3 + 2 + 3 + 1 + 2)
    }

    /// Each row: node, step, and exactly the instances it waits for.
    @Test(
        arguments: [
            ("cp1", "base/users", [String]()),
            ("w1", "base/dirs", ["w1 base/users"]),
            // A node step waits for the same node's instance of a node step.
            ("w1", "base/workerdirs", ["w1 base/dirs"]),
            // `requires: [base]`: the last step of base on this node implies the ones before it, but workerdirs
            // runs on other nodes than sysctl, so it stays an edge of its own.
            ("w1", "runtime/install", ["w1 base/sysctl", "w1 base/workerdirs"]),
            // No same-node instance of workerdirs on cp1: cp1 waits for every instance of it.
            ("cp1", "runtime/install", ["cp1 base/sysctl", "w1 base/workerdirs", "w2 base/workerdirs"]),
            // A cluster step waits for every instance of what it depends on. workerdirs is implied through
            // install too, but only an edge between steps of the same placement is left out.
            (
                "cp1", "runtime/init",
                [
                    "cp1 runtime/install", "w1 runtime/install", "w2 runtime/install", "w1 base/workerdirs",
                    "w2 base/workerdirs",
                ]
            ),
            // Reading an output is a dependency on the producer, on whichever node it runs; the cluster step
            // runs elsewhere, so the required stack's steps on this node stay edges of their own.
            ("w2", "runtime/join", ["cp1 runtime/init", "w2 base/sysctl", "w2 base/workerdirs"]),
        ])
    func eachInstanceWaitsForExactlyThese(node: String, step: String, expected: [String]) throws {
        let graph = try graph()
        let waits = waits(graph, node, step)
        #expect(waits == expected.sorted())
    }

    /// Leaving out implied edges never changes what an instance transitively waits for.
    @Test func leftOutEdgesAreImpliedByTheOnesKept() throws {
        let graph = try graph()
        func closure(_ index: Int) -> Set<Int> {
            var seen: Set<Int> = []
            var queue = graph.dependencies[index]
            while let next = queue.popLast() {
                guard seen.insert(next).inserted else { continue }
                queue += graph.dependencies[next]
            }
            return seen
        }
        for (index, instance) in graph.instances.enumerated() {
            let position = graph.catalog.position(of: instance.step)!
            let reachable = closure(index)
            // Every step of the full dependency list has its rule-chosen instances among the reachable ones.
            for dependency in graph.catalog.dependencies(of: instance.step) {
                let candidates = graph.instances(of: dependency)
                let sameNode = candidates.filter { $0.node == instance.node }
                let bothNodeScoped =
                    graph.catalog.steps[position].scope == .node && graph.catalog.step(dependency)?.scope == .node
                let wanted = bothNodeScoped && !sameNode.isEmpty ? sameNode : candidates
                for want in wanted {
                    #expect(reachable.contains(graph.index(of: want)!), "\(instance) must wait for \(want)")
                }
            }
        }
    }

    @Test func dependentsAreTheReverseOfDependencies() throws {
        let graph = try graph()
        for (index, dependencies) in graph.dependencies.enumerated() {
            for dependency in dependencies { #expect(graph.dependents[dependency].contains(index)) }
        }
        let dependentEdges: Int = graph.dependents.reduce(0) { $0 + $1.count }
        let dependencyEdges: Int = graph.dependencies.reduce(0) { $0 + $1.count }
        #expect(dependentEdges == dependencyEdges)
    }

    @Test func aReaderSeesTheSameNodesProducerElseTheFirst() throws {
        let graph = try graph()
        let install = StepID(stack: "runtime", step: "install")
        let initStep = StepID(stack: "runtime", step: "init")
        #expect(graph.producer(of: install, for: StepInstance(step: initStep, node: "w2"))?.node == "w2")
        #expect(graph.producer(of: initStep, for: StepInstance(step: install, node: "w2"))?.node == "cp1")
    }

    @Test func addingANodeAddsOnlyItsInstancesAndEdges() throws {
        let small = try graph()
        let large = try graph(nodes: [
            ("cp1", ["control-plane"]), ("w1", ["worker"]), ("w2", ["worker"]), ("w3", ["worker"]),
        ])
        for instance in small.instances where instance.node != "cp1" && instance.step.step != "init" {
            #expect(
                waits(small, instance.node, instance.step.description)
                    == waits(large, instance.node, instance.step.description))
        }
        // users, dirs, sysctl, workerdirs, install and join on w3.
        #expect(large.instances.count == small.instances.count + 6)
    }

    /// Removals run in reverse: each waits for the removals of the steps depending on its step.
    @Test func removalsWaitForTheNearestRemovedDependents() throws {
        let graph = try graph()
        let removed = ["base/users", "base/dirs", "runtime/install", "runtime/join"].map {
            StepInstance(step: StepID($0, defaultStack: nil)!, node: "w1")
        }
        let waits = graph.removalDependencies(removed).map { $0.map { removed[$0].step.description }.sorted() }
        #expect(waits[0] == ["base/dirs"])
        // Through sysctl and workerdirs (not removed) to install; through init (not removed) to join.
        #expect(waits[1] == ["runtime/install", "runtime/join"])
        #expect(waits[2] == ["runtime/join"])
        #expect(waits[3] == [])
    }
}
