import Foundation

/// All stacks of a platform, checked against each other, with their steps in dependency order.
public struct Catalog: Sendable {
    public var directory: String
    public var stacks: [Stack]
    /// Every step, each after everything it depends on.
    public private(set) var steps: [Step]
    /// The roles and settings the inventory is validated against: the union of the stacks' declarations.
    public private(set) var schema: InventorySchema
    /// Where each step is in `steps`.
    private var positions: [StepID: Int] = [:]
    /// Per step position: the positions it waits for, with those implied by another one left out.
    private(set) var waitsFor: [[Int]] = []
    /// Per step position: the positions whose `waitsFor` holds it.
    private(set) var waitedForBy: [[Int]] = []
    /// `forEach` templates by id, once the catalog is expanded for an inventory: what an instance whose item
    /// left the inventory is made from, so its `remove` can still run.
    var templates: [StepID: Step] = [:]
    /// Steps whose `when:` setting is off for the inventory the catalog is expanded for: not part of the
    /// platform, but a recorded one must still be removed with its own `remove`.
    var dormant: [StepID: Step] = [:]

    /// The store nodes fetch artifacts from, when a stack declares one.
    public private(set) var artifactStore: ArtifactStore?
    /// The store's step and everything it depends on: they run before the store answers, so their
    /// artifacts travel from the operator; every other step reading artifacts waits for the store.
    private var storeAncestors: Set<StepID> = []

    init(directory: String, stacks: [Stack], steps: [Step]) {
        self.directory = directory
        self.stacks = stacks
        self.steps = steps
        schema = Self.schema(of: stacks)
        artifactStore = stacks.compactMap(\.artifactStore).first
        positions = Dictionary(steps.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        if let store = artifactStore?.step {
            var queue = [store]
            while let next = queue.popLast() {
                guard storeAncestors.insert(next).inserted else { continue }
                queue += explicitDependencies(of: next)
            }
        }
        index()
    }

    /// Whether `id` runs before the artifact store answers (it is the store's step or one it depends on).
    public func runsBeforeStore(_ id: StepID) -> Bool { storeAncestors.contains(id) }

    public func step(_ id: StepID) -> Step? {
        if let position = positions[id] { return steps[position] }
        if let step = dormant[id] { return step }
        // An item no longer in the inventory: its instance, made from the template with only its key.
        guard let (template, key) = Self.templateAndKey(of: id), let step = templates[template] else { return nil }
        return Self.instantiate(step, key: key, fields: [:], templates: templates) { [$0] }
    }

    /// Whether `id` is a step whose `when:` setting is off.
    public func isDormant(_ id: StepID) -> Bool { dormant[id] != nil }

    /// The step's place in dependency order: every step comes after the steps it depends on.
    public func position(of id: StepID) -> Int? { positions[id] }

    private static func schema(of stacks: [Stack]) -> InventorySchema {
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
    /// A step that reads artifacts also waits for the artifact store, unless the store needs it first.
    public func dependencies(of id: StepID) -> [StepID] {
        var result = explicitDependencies(of: id)
        if let store = artifactStore?.step, !storeAncestors.contains(id), step(id)?.readsArtifacts == true,
            step(store) != nil, !result.contains(store)
        {
            result.append(store)
        }
        return result
    }

    private func explicitDependencies(of id: StepID) -> [StepID] {
        guard let step = step(id), let stack = stacks.first(where: { $0.name == id.stack }) else { return [] }
        var result = step.after + step.outputSources
        for required in requiredStacks(of: stack) {
            result += stacks.first { $0.name == required }?.steps.map(\.id) ?? []
        }
        var seen: Set<StepID> = []
        return result.filter { seen.insert($0).inserted }
    }

    /// Indexes the steps by id and works out, once, what each waits for.
    ///
    /// A dependency `d` is left out of a step's list when another dependency `e` of the same step depends on
    /// `d` directly and runs on exactly the nodes `d` runs on (same scope, same roles): every instance of `e`
    /// then waits for the matching instance of `d`, so waiting for `e` implies waiting for `d`. This keeps a
    /// stack that requires a long stack from waiting on each of its steps one by one.
    mutating func reindex() { index() }

    private mutating func index() {
        positions = Dictionary(steps.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        let direct = steps.map { step in Set(dependencies(of: step.id).compactMap { positions[$0] }) }
        func samePlacement(_ a: Int, _ b: Int) -> Bool {
            steps[a].scope == steps[b].scope && Set(steps[a].roles) == Set(steps[b].roles)
        }
        waitsFor = direct.map { dependencies in
            dependencies.filter { candidate in
                !dependencies.contains { other in
                    other != candidate && direct[other].contains(candidate) && samePlacement(other, candidate)
                }
            }.sorted()
        }
        waitedForBy = Array(repeating: [], count: steps.count)
        for (position, dependencies) in waitsFor.enumerated() {
            for dependency in dependencies { waitedForBy[dependency].append(position) }
        }
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
    /// - Parameter searched: the folders looked in when `directory` was not given but guessed, for the message
    ///   when it holds no stacks.
    public static func load(directory: String, searched: [String] = []) throws -> Catalog {
        let sink = DiagnosticSink()
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            .map { directory + "/" + $0 }
            .filter { FileManager.default.fileExists(atPath: $0 + "/stack.yaml") }
        if folders.isEmpty {
            sink.report(.whole(directory), noStacksMessage(directory: directory, searched: searched))
            try sink.throwIfAny()
        }
        let references = StackReferences()
        let stacks = folders.compactMap { folder -> Stack? in
            let stack = StackLoader(directory: folder, sink: sink, references: references).load()
            if stack == nil { references.unreadableStacks.insert(URL(fileURLWithPath: folder).lastPathComponent) }
            return stack
        }
        var catalog = Catalog(directory: directory, stacks: stacks, steps: stacks.flatMap(\.steps))
        let requiresCycle = catalog.checkReferences(references, sink: sink)
        // A cycle is reported along with every other problem; a cycle of `requires` is already reported whole.
        if !requiresCycle {
            let ordered = catalog.orderedSteps(sink: sink)
            if sink.isEmpty {
                catalog.steps = ordered
                catalog.index()
            }
        }
        try sink.throwIfAny()
        return catalog
    }

    private static func noStacksMessage(directory: String, searched: [String]) -> String {
        let expected = "expected folders that each hold a stack.yaml (or --stacks DIR)"
        if searched.count > 1 {
            return "no stacks found; searched \(humanList(searched, conjunction: "and")); \(expected)"
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
            return "no such folder; \(expected)"
        }
        return "no stacks found: no folder in it holds a stack.yaml; \(expected)"
    }

    /// Checks what stacks name across each other; names defined in a stack that could not be read are not
    /// reported as unknown, so one broken file gives one problem.
    /// - Returns: whether stacks require each other in a cycle.
    private func checkReferences(_ references: StackReferences, sink: DiagnosticSink) -> Bool {
        let stackNames = stacks.map(\.name)
        let rolesKnown = references.unreadableStacks.isEmpty
        let roleNames = Set(stacks.flatMap(\.roles).map(\.name)).union(references.declaredRoles)
        var settingTypes: [String: SettingDeclaration] = [:]
        var foundRequiresCycle = false
        var reportedCycles: [Set<String>] = []
        for stack in stacks {
            let file = stack.directory + "/stack.yaml"
            let requireLocations = references.requires[stack.name] ?? []
            func location(ofRequired name: String) -> SourceLocation {
                requireLocations.first { $0.name == name }?.location ?? .start(of: file)
            }
            for required in stack.requires
            where !stackNames.contains(required) && !references.unreadableStacks.contains(required) {
                var message =
                    "stack '\(stack.name)' requires unknown stack '\(required)'; expected one of \(humanList(stackNames))"
                if let suggestion = nearest(to: required, in: stackNames) {
                    message += " (did you mean '\(suggestion)'?)"
                }
                sink.report(location(ofRequired: required), message)
            }
            if let cycle = requiresCycle(from: stack), let first = cycle.dropFirst().first,
                !reportedCycles.contains(Set(cycle))
            {
                foundRequiresCycle = true
                reportedCycles.append(Set(cycle))
                sink.report(
                    location(ofRequired: first),
                    "stacks require each other: \(cycle.joined(separator: " → ")); expected 'requires' without a cycle")
            }
            for setting in stack.settings {
                if let other = settingTypes[setting.key], other.type != setting.type {
                    let at = references.declaredSettings[stack.name]?[setting.key] ?? .start(of: file)
                    sink.report(
                        at,
                        "setting '\(setting.key)' is declared as \(setting.type.rawValue) here and as \(other.type.rawValue) by stack '\(other.declaredBy)'; expected one type for a setting in every stack"
                    )
                }
                settingTypes[setting.key] = settingTypes[setting.key] ?? setting
            }
            let visibleSettings = Set(
                ([stack.name] + requiredStacks(of: stack)).flatMap { name in
                    (stacks.first { $0.name == name }?.settings.map(\.key) ?? [])
                        + (references.declaredSettings[name]?.keys.map { $0 } ?? [])
                })
            let settingsKnown = ([stack.name] + requiredStacks(of: stack)).allSatisfy {
                !references.unreadableStacks.contains($0)
            }
            checkArtifactVersions(
                of: stack, visibleSettings: settingsKnown ? visibleSettings : nil, sink: sink)
            if let store = stack.artifactStore {
                if let first = stacks.first(where: { $0.artifactStore != nil }), first.name != stack.name {
                    sink.report(
                        store.location,
                        "stack '\(stack.name)' declares an artifactStore, and so does stack '\(first.name)'; expected one store for the platform"
                    )
                }
                if self.step(store.step) == nil && references.canCheckSteps(of: store.step.stack) {
                    sink.report(
                        store.location, "artifactStore names unknown step '\(store.step)'; expected a step of the stack"
                    )
                }
                if let authority = store.authority, references.canCheckSteps(of: authority.step.stack),
                    self.step(authority.step)?.secrets.contains(where: {
                        if case .certificateAuthority = $0.kind {
                            return $0.name == authority.secret
                        } else {
                            return false
                        }
                    }) != true
                {
                    sink.report(
                        store.location,
                        "artifactStore authority '\(authority.step).\(authority.secret)' is not a secret of kind certificate-authority; expected STEP.SECRET naming one"
                    )
                }
                if let password = store.credentials?.password, references.canCheckSteps(of: password.step.stack),
                    self.step(password.step)?.secrets.contains(where: {
                        if case .password = $0.kind { return $0.name == password.secret } else { return false }
                    }) != true
                {
                    sink.report(
                        store.location,
                        "artifactStore password '\(password.step).\(password.secret)' is not a secret of kind password; expected STEP.SECRET naming one"
                    )
                }
                if case .setting(let key) = store.credentials?.username, settingsKnown, !visibleSettings.contains(key) {
                    sink.report(
                        store.location,
                        "artifactStore username reads setting '\(key)' that stack '\(stack.name)' does not declare; expected a key under its 'settings:'"
                    )
                }
                if case .setting(let key) = store.port, settingsKnown, !visibleSettings.contains(key) {
                    sink.report(
                        store.location,
                        "artifactStore port reads setting '\(key)' that stack '\(stack.name)' does not declare; expected a key under its 'settings:'"
                    )
                }
            }
            for step in stack.steps {
                checkStep(
                    step, stack: stack, roleNames: rolesKnown ? roleNames : nil,
                    visibleSettings: settingsKnown ? visibleSettings : nil, references: references, sink: sink)
            }
        }
        return foundRequiresCycle
    }

    /// The first cycle of `requires` that starts and ends at `stack`, as stack names.
    private func requiresCycle(from stack: Stack) -> [String]? {
        var path = [stack.name]
        var visited: Set<String> = []
        func walk(_ name: String) -> [String]? {
            for next in stacks.first(where: { $0.name == name })?.requires ?? [] {
                if next == stack.name { return path + [next] }
                guard visited.insert(next).inserted else { continue }
                path.append(next)
                if let found = walk(next) { return found }
                path.removeLast()
            }
            return nil
        }
        return walk(stack.name)
    }

    private func checkStep(
        _ step: Step, stack: Stack, roleNames: Set<String>?, visibleSettings: Set<String>?,
        references: StackReferences, sink: DiagnosticSink
    ) {
        let at = step.location
        let located = references.steps[step.id] ?? StackReferences.StepReferences()
        if let roleNames {
            for role in step.roles + [step.removeOn].compactMap({ $0 }) where !roleNames.contains(role) {
                var message =
                    "step '\(step.id)' runs on role '\(role)' that no stack declares; expected one of \(humanList(roleNames.sorted()))"
                if let suggestion = nearest(to: role, in: roleNames.sorted()) {
                    message += " (did you mean '\(suggestion)'?)"
                }
                sink.report(located.roles.first { $0.name == role }?.location ?? at, message)
            }
        }
        for input in step.inputs {
            guard case .nodes(let role?) = input.reference, let roleNames, !roleNames.contains(role) else { continue }
            sink.report(
                input.location,
                "input '\(input.name)' lists the nodes with role '\(role)' that no stack declares; expected nodes.all or nodes.ROLE with one of \(humanList(roleNames.sorted()))"
            )
        }
        checkForEach(step, stack: stack, visibleSettings: visibleSettings, located: located, sink: sink)
        if let key = step.when {
            let declaration = schema.settings.first { $0.key == key }
            let at = located.when?.location ?? step.location
            if visibleSettings.map({ !$0.contains(key) }) ?? false || declaration == nil {
                sink.report(
                    at,
                    "step '\(step.id)' is conditional on setting '\(key)' that stack '\(stack.name)' does not declare; expected a boolean setting under its 'settings:' (or a required stack's)"
                )
            } else if declaration?.type != .boolean {
                sink.report(
                    at,
                    "step '\(step.id)' is conditional on setting '\(key)' of type \(declaration!.type.rawValue); expected a boolean setting"
                )
            }
        }
        if step.scope == .cluster && step.roles.isEmpty {
            sink.report(at, "cluster step '\(step.id)' has no 'roles'; expected the role whose first node runs it")
        }
        for dependency in step.after
        where self.step(dependency) == nil && references.canCheckSteps(of: dependency.stack) {
            var message =
                "step '\(step.id)' is after unknown step '\(dependency)'; expected the name of a step in this stack, or STACK/STEP"
            if let suggestion = nearest(to: dependency.description, in: steps.map(\.id.description)) {
                message += " (did you mean '\(suggestion)'?)"
            }
            sink.report(located.after.first { $0.name == dependency.description }?.location ?? at, message)
        }
        for input in step.inputs {
            switch input.reference {
            case .setting(let key) where visibleSettings.map({ !$0.contains(key) }) ?? false:
                sink.report(
                    input.location,
                    "input '\(input.name)' reads setting '\(key)' that stack '\(stack.name)' does not declare; expected a key under its 'settings:' (or a required stack's)"
                )
            case .cluster(let field)
            where !["name", "kubernetesVersion", "controlPlaneEndpoint", "podSubnet", "serviceSubnet"].contains(field):
                sink.report(
                    input.location,
                    "input '\(input.name)' reads unknown cluster field '\(field)'; expected name, kubernetesVersion, controlPlaneEndpoint, podSubnet or serviceSubnet"
                )
            case .output(let source, let key):
                guard let producer = self.step(source) else {
                    guard references.canCheckSteps(of: source.stack) else { continue }
                    var message =
                        "input '\(input.name)' reads an output of unknown step '\(source)'; expected steps.STACK/STEP.OUTPUT naming an existing step"
                    if let suggestion = nearest(to: source.description, in: steps.map(\.id.description)) {
                        message += " (did you mean '\(suggestion)'?)"
                    }
                    sink.report(input.location, message)
                    continue
                }
                if !producer.outputs.contains(where: { $0.name == key }) && producer.secret(providing: key) == nil {
                    sink.report(
                        input.location,
                        "input '\(input.name)' reads '\(key)', which step '\(source)' does not declare; expected one of \(humanList(producer.outputs.map(\.name) + producer.secrets.flatMap(\.variables)))"
                    )
                }
            case .artifact(let id):
                guard references.canCheckSteps(of: id.stack) else { continue }
                guard let owner = stacks.first(where: { $0.name == id.stack }) else {
                    sink.report(
                        input.location,
                        "input '\(input.name)' reads artifact '\(id)' of unknown stack '\(id.stack)'; expected artifacts.NAME or artifacts.STACK/NAME"
                    )
                    continue
                }
                if !owner.artifacts.declares(id.name) {
                    let names = (owner.artifacts.files.map(\.id.name) + owner.artifacts.images.map(\.id.name)).sorted()
                    var message =
                        "input '\(input.name)' reads artifact '\(id)', which stack '\(id.stack)' does not declare; expected \(names.isEmpty ? "an artifact declared under its 'artifacts:'" : humanList(names))"
                    if let suggestion = nearest(to: id.name, in: names) {
                        message += " (did you mean '\(suggestion)'?)"
                    }
                    sink.report(input.location, message)
                }
            default:
                break
            }
        }
    }

    /// An artifact's version must come from a cluster field or a setting its stack can see.
    private func checkArtifactVersions(of stack: Stack, visibleSettings: Set<String>?, sink: DiagnosticSink) {
        let versions =
            stack.artifacts.files.map { ($0.version, $0.location) }
            + stack.artifacts.images.compactMap { image in image.version.map { ($0, image.location) } }
        for (version, location) in versions {
            guard case .inventory(let reference) = version else { continue }
            switch reference {
            case .setting(let key) where visibleSettings.map({ !$0.contains(key) }) ?? false:
                sink.report(
                    location,
                    "artifact version reads setting '\(key)' that stack '\(stack.name)' does not declare; expected a key under its 'settings:' (or a required stack's)"
                )
            case .cluster(let field) where field != "kubernetesVersion":
                sink.report(
                    location,
                    "artifact version reads cluster field '\(field)'; expected cluster.kubernetesVersion, settings.KEY or {value: VERSION}"
                )
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
                sink.report(
                    step(id)?.location ?? .start(of: directory),
                    "dependency cycle: \(cycle.map(\.description).joined(separator: " → ")); expected steps without circular 'after', outputs or 'requires'"
                )
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

    /// A `forEach` template iterates over a visible list setting whose items have a name; `item.FIELD` reads
    /// one of its fields and only there; its files land per item (`{item}`); the outputs of an item's step are
    /// read only by steps of the same item.
    private func checkForEach(
        _ step: Step, stack: Stack, visibleSettings: Set<String>?, located: StackReferences.StepReferences,
        sink: DiagnosticSink
    ) {
        let at = located.forEach?.location ?? step.location
        var fields: Set<String>?
        if let list = step.forEach {
            let declaration = schema.settings.first { $0.key == list }
            if visibleSettings.map({ !$0.contains(list) }) ?? false || declaration == nil {
                sink.report(
                    at,
                    "step '\(step.id)' iterates over setting '\(list)' that stack '\(stack.name)' does not declare; expected a list setting under its 'settings:' (or a required stack's)"
                )
            } else if let declaration, declaration.type != .list || declaration.fields["name"] == nil {
                sink.report(
                    at,
                    "step '\(step.id)' iterates over setting '\(list)', which is not a list of items with a 'name' field; expected type list with fields including name"
                )
            } else {
                fields = Set(declaration?.fields.keys.map { $0 } ?? [])
            }
            for file in step.files where !file.destination.contains("{item}") {
                sink.report(
                    file.location,
                    "file \(file.destination) of step '\(step.id)' is the same for every item; expected a destination holding {item}"
                )
            }
        }
        for input in step.inputs {
            switch input.reference {
            case .item(let field):
                if step.forEach == nil {
                    sink.report(
                        input.location,
                        "input '\(input.name)' reads item.\(field) but step '\(step.id)' has no forEach; expected forEach: settings.KEY"
                    )
                } else if let fields, !fields.contains(field) {
                    sink.report(
                        input.location,
                        "input '\(input.name)' reads item.\(field), not a field of settings.\(step.forEach!); expected one of \(humanList(fields.sorted()))"
                    )
                }
            case .output(let source, _):
                guard let producer = self.step(source), let list = producer.forEach, step.forEach != list else {
                    continue
                }
                sink.report(
                    input.location,
                    "input '\(input.name)' reads an output of '\(source)', which runs once per item of settings.\(list); expected a step with forEach: settings.\(list)"
                )
            default: continue
            }
        }
    }
}
