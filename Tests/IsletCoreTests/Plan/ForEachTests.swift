import Foundation
import Testing

@testable import IsletCore

/// `forEach` steps: one instance per item of a list setting, so adding an application plans only its steps
/// and removing one runs only its steps' removes.
@Suite struct ForEachTests {
    func platform(apps: [String]) -> TestPlatform {
        let platform = TestPlatform()
        platform.stack(
            "gitops",
            """
            roles: [{name: git}]
            settings:
              - {key: apps, type: list, default: [], description: applications, fields: {name: string, image: string}}
            steps:
              - name: repository
                forEach: settings.apps
                scope: cluster
                roles: [git]
                inputs: {APP: item.name, IMAGE: item.image}
                files: [{template: values.yaml, destination: "/srv/apps/{item}/values.yaml", mode: "0644"}]
                check: test -f "$ISLET_ROOT/srv/apps/$APP/created"
                apply: |
                  touch "$ISLET_ROOT/srv/apps/$APP/created"
                  echo "URL=git://$APP" >> "$ISLET_OUTPUT"
                remove: rm -f "$ISLET_ROOT/srv/apps/$APP/created"
                outputs: [URL]
              - name: application
                forEach: settings.apps
                scope: cluster
                roles: [git]
                inputs: {APP: item.name, URL: steps.repository.URL}
                check: test "$(cat "$ISLET_ROOT/srv/apps/$APP/app" 2>/dev/null)" = "$URL"
                apply: echo "$URL" > "$ISLET_ROOT/srv/apps/$APP/app"
                remove: rm -f "$ISLET_ROOT/srv/apps/$APP/app"
              - name: index
                scope: cluster
                roles: [git]
                after: [application]
                inputs: {APPS: settings.apps}
                check: test -f "$ISLET_ROOT/srv/index"
                apply: touch "$ISLET_ROOT/srv/index"
            """, files: ["values.yaml": "image: {{IMAGE}}\n"])
        setApps(apps, in: platform)
        return platform
    }

    func setApps(_ apps: [String], in platform: TestPlatform) {
        let items = apps.map { "{name: \($0), image: \"registry.lan/\($0):1\"}" }.joined(separator: ", ")
        platform.inventory(nodes: [("git1", ["git"])], settings: "  apps: [\(items)]\n")
    }

    @Test func eachItemHasStepsOfItsOwnAndOnlyItsStepsActWhenItComesOrGoes() async throws {
        let platform = platform(apps: ["shop", "blog"])
        let (first, result) = try await platform.apply()
        #expect(result.succeeded)
        #expect(first.action("git1", "gitops/repository[shop]") == .create)
        #expect(first.action("git1", "gitops/application[blog]") == .create)
        #expect(platform.read(node: "git1", "/srv/apps/blog/values.yaml") == "image: registry.lan/blog:1\n")
        #expect(platform.read(node: "git1", "/srv/apps/shop/app") == "git://shop\n")

        // A third application: only its steps act (the index reads the whole list, so it is updated too).
        setApps(["shop", "blog", "wiki"], in: platform)
        let grown = try await platform.plan()
        #expect(
            grown.table.sorted() == [
                "git1 gitops/application[wiki] create", "git1 gitops/index update",
                "git1 gitops/repository[wiki] create",
            ], "\(grown.table)")

        // One removed: its steps' removes run, with its name; the others stay.
        setApps(["blog"], in: platform)
        let (shrunk, shrinking) = try await platform.apply()
        #expect(shrinking.succeeded)
        #expect(shrunk.action("git1", "gitops/application[shop]") == .remove)
        #expect(shrunk.action("git1", "gitops/repository[shop]") == .remove)
        #expect(platform.read(node: "git1", "/srv/apps/shop/app") == nil)
        #expect(platform.read(node: "git1", "/srv/apps/shop/created") == nil)
        #expect(platform.read(node: "git1", "/srv/apps/blog/app") == "git://blog\n")
    }

    @Test func templatesAreCheckedAtValidate() throws {
        let platform = TestPlatform()
        platform.stack(
            "gitops",
            """
            roles: [{name: git}]
            settings:
              - {key: apps, type: list, default: [], description: applications, fields: {name: string}}
              - {key: port, type: port, default: 80, description: a port}
            steps:
              - {name: a, forEach: settings.port, roles: [git], check: "true", apply: "true"}
              - {name: b, roles: [git], inputs: {X: item.name}, check: "true", apply: "true"}
              - name: c
                forEach: settings.apps
                roles: [git]
                inputs: {X: item.image}
                files: [{template: t, destination: /srv/same, mode: "0644"}]
                check: "true"
                apply: "true"
            """, files: ["t": "x\n"])
        platform.inventory(nodes: [("git1", ["git"])])
        var message = ""
        do { _ = try platform.workspace() } catch { message = "\(error)" }
        #expect(
            message.contains("iterates over setting 'port', which is not a list of items with a 'name' field"),
            "\(message)")
        #expect(message.contains("reads item.name but step 'gitops/b' has no forEach"))
        #expect(message.contains("reads item.image, not a field of settings.apps"))
        #expect(message.contains("file /srv/same of step 'gitops/c' is the same for every item"))
    }
}
