import ArgumentParser
import IsletBundle

/// `islet bundle …`: the air-gap bundle, made online and checked and read on the closed side.
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle", abstract: "Verify and list an air-gap bundle (a folder, a tar archive, or its parts).",
        subcommands: [BundleVerifyCommand.self, BundleListCommand.self])
}

/// The bundle argument `verify` and `list` share.
struct BundleLocation: ParsableArguments {
    @Argument(
        help: ArgumentHelp(
            "The bundle: its folder, its tar archive, or a split archive (FILE.tar.000, or FILE.tar when only its parts exist).",
            valueName: "DIR|FILE"))
    var bundle: String

    func open() throws -> BundleSource { try BundleSource(opening: bundle) }
}

struct BundleVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-hash everything bundle.json lists; name each missing, truncated, corrupt or unexpected item.",
        discussion: "Exits 1 when anything differs from bundle.json.")

    @OptionGroup var location: BundleLocation

    func run() throws {
        let verification: BundleVerification
        do {
            verification = try BundleVerifier.verify(location.open())
        } catch {
            throw fail(error)
        }
        say(verification.render(location: location.bundle), terminator: "")
        if !verification.passed { throw ExitCode(1) }
    }
}

struct BundleListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Show the files and images in a bundle, for which stack, version and arch.")

    @OptionGroup var location: BundleLocation

    func run() throws {
        do {
            say(try BundleContents(of: location.open()).render(), terminator: "")
        } catch {
            throw fail(error)
        }
    }
}
