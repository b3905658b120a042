import Foundation

/// All stacks of a platform, checked against each other, with their steps in dependency order.
public struct Catalog: Sendable {
    public var directory: String
    public var stacks: [Stack]
    /// Every step, each after everything it depends on.
    public var steps: [Step]

    public func step(_ id: StepID) -> Step? { steps.first { $0.id == id } }

    /// The roles and settings the inventory is validated against: the union of the stacks' declarations.
    public var schema: InventorySchema {
        var roles: [RoleDeclaration] = []
        for role in stacks.flatMap(\.roles) {
            if let index = roles.firstIndex(where: { $0.name == role.name }) {
                // Two stacks may both declare a role; the stricter bounds win.
                roles[index].minimum = max(roles[index].minimum, role.minimum)
                if let high = role.maximum { roles[index].maximum = min(roles[index].maximum ?? high, high) }
            } else {
                roles.append(role)
            }
        }
        var settings: [SettingDeclaration] = []
        for setting in stacks.flatMap(\.settings) where !settings.contains(where: { $0.key == setting.key }) {
            settings.append(setting)
        }
        return InventorySchema(roles: roles, settings: settings)
    }

    /// Steps that must finish before `id` may start: its `after:` list, the steps whose outputs it reads,
    /// and every step of the stacks its stack requires.
    public func dependencies(of id: StepID) -> [StepID] {
        guard let step = step(id), let stack = stacks.first(where: { $0.name == id.stack }) else { return [] }
        var result = step.after + step.outputSources
        for required in requiredStacks(of: stack) {
            result += stacks.first { $0.name == required }?.steps.map(\.id) ?? []
        }
        var seen: Set<StepID> = []
        return result.filter { seen.insert($0).inserted }
    }

    /// The stacks `stack` requires, directly or through others.
    func requiredStacks(of stack: Stack) -> [String] {
        var result: [String] = []
        var queue = stack.requires
        while let next = queue.popLast() {
            guard !result.contains(next), next != stack.name else { continue }
            result.append(next)
            queue += stacks.first { $0.name == next }?.requires ?? []
        }
        return result
    }

    /// Loads every folder of `directory` that has a `stack.yaml`.
    /// - Throws: `ValidationFailure` with every problem in every stack.
    public static func load(directory: String) throws -> Catalog {
        let sink = DiagnosticSink()
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            .map { directory + "/" + $0 }
            .filter { FileManager.default.fileExists(atPath: $0 + "/stack.yaml") }
        if folders.isEmpty {
            sink.report(.start(of: directory), "no stacks found; expected folders with a stack.yaml (use --stacks DIR)")
            try sink.throwIfAny()
        }
        let stacks = folders.compactMap { StackLoader(directory: $0, sink: sink).load() }
        var catalog = Catalog(directory: directory, stacks: stacks, steps: stacks.flatMap(\.steps))
        catalog.checkReferences(sink: sink)
        if sink.isEmpty { catalog.steps = catalog.orderedSteps(sink: sink) }
        try sink.throwIfAny()
        return catalog
    }

    private func checkReferences(sink: DiagnosticSink) {
        let stackNames = stacks.map(\.name)
        let roleNames = Set(stacks.flatMap(\.roles).map(\.name))
        var settingTypes: [String: SettingDeclaration] = [:]
        for stack in stacks {
            let file = stack.directory + "/stack.yaml"
            for required in stack.requires where !stackNames.contains(required) {
                var message = "stack '\(stack.name)' requires unknown stack '\(required)'; expected one of \(humanList(stackNames))"
                if let suggestion = nearest(to: required, in: stackNames) { message += " (did you mean '\(suggestion)'?)" }
                sink.report(.start(of: file), message)
            }
            for setting in stack.settings {
                if let other = settingTypes[setting.key], other.type != setting.type {
                    sink.report(.start(of: file), "setting '\(setting.key)' is declared as \(setting.type.rawValue) here and as \(other.type.rawValue) by stack '\(other.declaredBy)'; expected one type")
                }
                settingTypes[setting.key] = settingTypes[setting.key] ?? setting
            }
            let visibleSettings = Set(([stack.name] + requiredStacks(of: stack)).flatMap { name in
                stacks.first { $0.name == name }?.settings.map(\.key) ?? []
            })
            for step in stack.steps {
                checkStep(step, stack: stack, roleNames: roleNames, visibleSettings: visibleSettings, sink: sink)
            }
        }
    }

    private func checkStep(_ step: Step, stack: Stack, roleNames: Set<String>, visibleSettings: Set<String>,
                           sink: DiagnosticSink) {
        let at = step.location
        for role in step.roles + [step.removeOn].compactMap({ $0 }) where !roleNames.contains(role) {
            sink.report(at, "step '\(step.id)' runs on role '\(role)' that no stack declares; expected one of \(humanList(roleNames.sorted()))")
        }
        if step.scope == .cluster && step.roles.isEmpty {
            sink.report(at, "cluster step '\(step.id)' has no 'roles'; expected the role whose first node runs it")
        }
        for dependency in step.after where self.step(dependency) == nil {
            var message = "step '\(step.id)' is after unknown step '\(dependency)'"
            if let suggestion = nearest(to: dependency.description, in: steps.map(\.id.description)) {
                message += " (did you mean '\(suggestion)'?)"
            }
            sink.report(at, message)
        }
        for input in step.inputs {
            switch input.reference {
            case .setting(let key) where !visibleSettings.contains(key):
                sink.report(input.location, "input '\(input.name)' reads setting '\(key)' that stack '\(stack.name)' does not declare; expected a key under its 'settings:' (or a required stack's)")
            case .cluster(let field) where !["name", "kubernetesVersion", "controlPlaneEndpoint", "podSubnet", "serviceSubnet"].contains(field):
                sink.report(input.location, "input '\(input.name)' reads unknown cluster field '\(field)'; expected name, kubernetesVersion, controlPlaneEndpoint, podSubnet or serviceSubnet")
            case .output(let source, let key):
                guard let producer = self.step(source) else {
                    sink.report(input.location, "input '\(input.name)' reads an output of unknown step '\(source)'")
                    continue
                }
                if !producer.outputs.contains(where: { $0.name == key }) && !producer.secrets.contains(where: { $0.name == key }) {
                    sink.report(input.location, "input '\(input.name)' reads '\(key)', which step '\(source)' does not declare; expected one of \(humanList(producer.outputs.map(\.name) + producer.secrets.map(\.name)))")
                }
            default:
                break
            }
        }
    }

    /// Orders steps so each comes after its dependencies; a cycle is reported whole.
    private func orderedSteps(sink: DiagnosticSink) -> [Step] {
        var ordered: [Step] = []
        var state: [StepID: Bool] = [:]  // false: on the current path, true: done
        var path: [StepID] = []
        func visit(_ id: StepID) -> Bool {
            if state[id] == true { return true }
            if state[id] == false {
                let cycle = path[path.firstIndex(of: id)!...] + [id]
                sink.report(step(id)?.location ?? .start(of: directory),
                            "dependency cycle: \(cycle.map(\.description).joined(separator: " → ")); expected steps without circular 'after', outputs or 'requires'")
                return false
            }
            state[id] = false
            path.append(id)
            defer { path.removeLast() }
            for dependency in dependencies(of: id) where !visit(dependency) { return false }
            state[id] = true
            if let step = step(id) { ordered.append(step) }
            return true
        }
        for step in steps where !visit(step.id) { return steps }
        return ordered
    }
}
