import Foundation

/// `forEach: settings.KEY` steps: templates instantiated once per item of a list setting, so each item (an
/// application) has steps of its own. Adding an item adds only its steps; removing one removes only its steps,
/// whose `remove` still runs (see `Catalog.step(_:)`).
///
/// An instance is the step `NAME[KEY]` (KEY: the item's `name`). Its `item.FIELD` inputs become literals,
/// `{item}` in a file destination becomes KEY. A dependency on a template means: the same item's instance
/// when both iterate over the same list, else every instance.
extension Catalog {
    /// The catalog with every template replaced by its instances for the inventory's items.
    /// - Throws: `ValidationFailure` when an item's name cannot name a step.
    /// Steps whose `when:` setting is off are left out (kept aside as dormant, for their removal).
    public func expanded(for inventory: Inventory) throws -> Catalog {
        let templates = steps.filter { $0.forEach != nil }
        let dormant = steps.filter { step in step.when.map { inventory.settings[$0] != .boolean(true) } ?? false }
        guard !templates.isEmpty || !dormant.isEmpty else { return self }
        let dormantIDs = Set(dormant.map(\.id))
        var itemsByList: [String: [(key: String, fields: [String: Value])]] = [:]
        let sink = DiagnosticSink()
        for list in Set(templates.compactMap(\.forEach)) {
            guard case .list(let values)? = inventory.settings[list] else { continue }
            var items: [(key: String, fields: [String: Value])] = []
            for value in values {
                guard case .map(let fields) = value, case .string(let key)? = fields["name"] else { continue }
                guard NetworkSyntax.isLabel(key) else {
                    sink.report(
                        .whole(inventory.file),
                        "settings.\(list): item name '\(key)' cannot name its steps; expected a DNS label (letters, digits and '-')"
                    )
                    continue
                }
                if items.contains(where: { $0.key == key }) {
                    sink.report(
                        .whole(inventory.file), "settings.\(list): two items are named '\(key)'; expected unique names")
                    continue
                }
                items.append((key, fields))
            }
            itemsByList[list] = items
        }
        try sink.throwIfAny()
        let templateIDs = Dictionary(uniqueKeysWithValues: templates.map { ($0.id, $0) })
        func instances(of id: StepID) -> [StepID] {
            if dormantIDs.contains(id) { return [] }
            guard let template = templateIDs[id], let list = template.forEach else { return [id] }
            return (itemsByList[list] ?? []).map { Self.instanceID(id, key: $0.key) }
        }
        var expandedSteps: [Step] = []
        for step in steps where !dormantIDs.contains(step.id) {
            if let list = step.forEach {
                for item in itemsByList[list] ?? [] {
                    expandedSteps.append(
                        Self.instantiate(
                            step, key: item.key, fields: item.fields, templates: templateIDs, instances: instances))
                }
            } else {
                expandedSteps.append(Self.redirect(step, instances: instances))
            }
        }
        var catalog = Catalog(
            directory: directory,
            stacks: stacks.map { stack in
                var copy = stack
                copy.steps = expandedSteps.filter { $0.id.stack == stack.name }
                return copy
            }, steps: expandedSteps)
        catalog.templates = templateIDs
        catalog.dormant = Dictionary(uniqueKeysWithValues: dormant.filter { $0.forEach == nil }.map { ($0.id, $0) })
        catalog.reindex()
        return catalog
    }

    static func instanceID(_ template: StepID, key: String) -> StepID {
        StepID(stack: template.stack, step: "\(template.step)[\(key)]")
    }

    /// The template and key of an instance id (`name[key]`), if `id` is one.
    static func templateAndKey(of id: StepID) -> (template: StepID, key: String)? {
        guard id.step.hasSuffix("]"), let open = id.step.firstIndex(of: "[") else { return nil }
        let key = String(id.step[id.step.index(after: open)..<id.step.index(before: id.step.endIndex)])
        return (StepID(stack: id.stack, step: String(id.step[..<open])), key)
    }

    /// One item's step. `fields` is empty for an item no longer in the inventory (its steps are being
    /// removed): its inputs then read only the key, as `item.name`.
    static func instantiate(
        _ template: Step, key: String, fields: [String: Value], templates: [StepID: Step],
        instances: (StepID) -> [StepID]
    ) -> Step {
        var step = template
        step.id = instanceID(template.id, key: key)
        step.item = key
        step.forEach = nil
        // A dependency on a template of the same list is on this item's instance.
        func sameItem(_ id: StepID) -> [StepID] {
            if let other = templates[id], other.forEach == template.forEach { return [instanceID(id, key: key)] }
            return instances(id)
        }
        step.after = template.after.flatMap(sameItem)
        step.onNodeOnly = Set(template.onNodeOnly.flatMap(sameItem))
        step.inputs = template.inputs.map { input in
            var copy = input
            switch input.reference {
            case .item(let field):
                copy.reference = .literal(field == "name" ? .string(key) : fields[field] ?? .string(""))
            case .output(let source, let output):
                if let other = templates[source], other.forEach == template.forEach {
                    copy.reference = .output(instanceID(source, key: key), output)
                }
            default: break
            }
            return copy
        }
        step.files = template.files.map { file in
            var copy = file
            copy.destination = file.destination.replacingOccurrences(of: "{item}", with: key)
            return copy
        }
        return step
    }

    /// A plain step that names templates: it waits for every instance of them.
    static func redirect(_ step: Step, instances: (StepID) -> [StepID]) -> Step {
        var copy = step
        copy.after = step.after.flatMap(instances)
        copy.onNodeOnly = Set(step.onNodeOnly.flatMap(instances))
        return copy
    }
}
