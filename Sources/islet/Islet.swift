import ArgumentParser
import IsletCore

@main
struct IsletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "islet",
        abstract: "Bring up and keep a closed-network Kubernetes delivery platform, declaratively, over SSH.",
        version: Islet.version,
        subcommands: [
            InitCommand.self, ValidateCommand.self, PlanCommand.self, ApplyCommand.self, StatusCommand.self,
            OutputCommand.self, SSHCommand.self, BundleCommand.self, VersionCommand.self, DebugCommand.self,
        ]
    )

    static func main() async {
        // glibc gives each thread that allocates an arena of its own and keeps what it freed there; with
        // one thread per node's pipes and the concurrency pool, that, not live data, was most of the
        // memory of a large apply. Four arenas hold it down without making threads wait on malloc.
        _ = glibcMallopt(-8, 4)  // M_ARENA_MAX
        await main(nil)
    }
}

/// glibc's `mallopt` (malloc.h, which Swift's Glibc module leaves out).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
