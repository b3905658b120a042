import Foundation

/// The download display: a `TransferBoard` that downloader threads report to, drawn on its own thread
/// every `refresh` seconds, redrawn in place on a terminal and as plain lines otherwise. `close()` draws
/// the last frame.
///
///     let display = DownloadProgressDisplay(fileDescriptor: STDERR_FILENO)
///     let id = display.board.begin("kubeadm")
///     let result = try downloader.download("kubeadm", from: url, to: path, progress: { display.board.update(id, $0) })
///     display.board.finish(id)    // or fail(id)
///     display.close()
public final class DownloadProgressDisplay: @unchecked Sendable {
    public let board: TransferBoard
    private let write: @Sendable (String) -> Void
    private let lock = NSLock()
    private let stopped = DispatchSemaphore(value: 0)
    private var closed = false
    private var renderer: Renderer

    private enum Renderer {
        case terminal(TerminalProgressRenderer)
        case plain(PlainProgressRenderer)

        mutating func render(_ frame: TransferBoard.Frame) -> String {
            switch self {
            case .terminal(var renderer):
                defer { self = .terminal(renderer) }
                return renderer.render(frame)
            case .plain(var renderer):
                defer { self = .plain(renderer) }
                return renderer.render(frame)
            }
        }
    }

    /// - Parameters:
    ///   - terminal: Redraw in place (`width` columns), four times a second; otherwise plain lines.
    ///   - board: Pass one with a test clock to drive it by hand.
    ///   - write: Where the text goes.
    public init(
        terminal: Bool, width: Int = 80, board: TransferBoard = TransferBoard(),
        write: @escaping @Sendable (String) -> Void
    ) {
        self.board = board
        self.write = write
        renderer = terminal ? .terminal(TerminalProgressRenderer(width: width)) : .plain(PlainProgressRenderer())
        let refresh = terminal ? 0.25 : 1
        let thread = Thread { [weak self, stopped] in
            while stopped.wait(timeout: .now() + refresh) == .timedOut { self?.draw() }
        }
        thread.name = "islet-progress"
        thread.start()
    }

    /// Draws to `fileDescriptor` (standard error by default, leaving standard output to results), in place
    /// when it is a terminal, as wide as the terminal.
    public convenience init(fileDescriptor: Int32 = STDERR_FILENO) {
        var size = winsize()
        let terminal = isatty(fileDescriptor) == 1
        let width =
            terminal && ioctl(fileDescriptor, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
        self.init(terminal: terminal, width: width) { text in
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let written = bytes.withUnsafeBytes { Foundation.write(fileDescriptor, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                bytes = bytes.dropFirst(written)
            }
        }
    }

    deinit { close() }

    /// Draws the last frame and stops drawing.
    public func close() {
        let first = lock.withLock {
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        stopped.signal()
        draw()
    }

    private func draw() {
        lock.withLock {
            let text = renderer.render(board.frame())
            if !text.isEmpty { write(text) }
        }
    }
}
