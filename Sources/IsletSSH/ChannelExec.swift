import CLibSSH2
import Foundation
import IsletCore

/// Runs one remote command on a fresh channel, feeding stdin while streaming
/// stdout and stderr.
///
/// The channel runs non-blocking and every pass both reads and writes: a
/// command that prints a lot before reading its input fills the channel
/// window, and a blocking writer would then wait forever for a reader that
/// waits for it.
struct ChannelExec {
    let session: Session
    let command: String
    let stdin: [UInt8]
    /// More stdin after `stdin`, as the engine sends it; EOF once it is closed. Without one, EOF follows `stdin`.
    var more: ScriptFeed? = nil
    let onOutput: @Sendable (SSHOutputStream, [UInt8]) -> Void

    private static let readSize = 128 * 1024
    private static let writeSize = 256 * 1024

    func run() throws -> SSHExitStatus {
        let channel = try Channel.openSession(on: session, purpose: "'\(command)'")
        let rc = command.withCString { islet_channel_exec(channel.raw, $0, UInt32(command.utf8.count)) }
        guard rc == 0 else { throw session.error(Int(rc), operation: "starting '\(command)'") }

        session.setBlocking(false)
        defer { session.setBlocking(true) }
        try pump(channel)
        return exitStatus(channel)
    }

    private func pump(_ channel: Channel) throws {
        var buffer = [UInt8](repeating: 0, count: Self.readSize)
        var input = stdin
        var written = 0
        var stdinDone = false  // EOF sent, or the remote stopped reading
        var outputDone = false
        var lastHeard = ContinuousClock.now

        while true {
            var progress = false

            if !outputDone {
                let out = try drain(channel, stream: .stdout, into: &buffer, progress: &progress)
                let err = try drain(channel, stream: .stderr, into: &buffer, progress: &progress)
                outputDone = out && err
            }

            if !stdinDone {
                stdinDone = try sendInput(channel, input: &input, written: &written, progress: &progress)
            }

            if outputDone {
                if try stdinDone || remoteClosed(channel) {
                    if try waitClosed(channel) { return }
                }
            }

            if progress {
                lastHeard = .now
                continue
            }
            let wait = min(1000, session.keepalive())
            if session.waitForSocket(timeoutMs: wait, orReadable: stdinDone ? nil : more?.wakeDescriptor) {
                lastHeard = .now
            } else if ContinuousClock.now - lastHeard > session.operationTimeout {
                throw SSHError.timeout(
                    node: session.node,
                    operation:
                        "'\(command)': the server sent nothing, not even keepalive replies, for \(session.operationTimeout)"
                )
            }
        }
    }

    /// Reads one stream until it would block; returns true at end of output.
    private func drain(
        _ channel: Channel, stream: SSHOutputStream, into buffer: inout [UInt8],
        progress: inout Bool
    ) throws -> Bool {
        while true {
            let n = try buffer.withUnsafeMutableBytes { bytes -> Int in
                let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
                // A read may send a window adjustment.
                return try session.finishingPartialSend {
                    stream == .stdout
                        ? islet_channel_read(channel.raw, base, bytes.count)
                        : islet_channel_read_stderr(channel.raw, base, bytes.count)
                }
            }
            if n > 0 {
                progress = true
                onOutput(stream, Array(buffer[0..<n]))
                continue
            }
            if n == 0 { return libssh2_channel_eof(channel.raw) != 0 }
            if n == Int(LIBSSH2_ERROR_EAGAIN) { return false }
            throw session.error(n, operation: "reading output of '\(command)'")
        }
    }

    /// Writes as much stdin as the channel takes; returns true once EOF is
    /// sent or the remote will read no more.
    private func sendInput(_ channel: Channel, input: inout [UInt8], written: inout Int, progress: inout Bool) throws
        -> Bool
    {
        while true {
            if written == input.count, let more {
                let (bytes, closed) = more.take()
                if !bytes.isEmpty {
                    input = bytes
                    written = 0
                } else if !closed {
                    return false
                }
            }
            if written == input.count { break }
            let n = try input.withUnsafeBytes { bytes -> Int in
                let chunk = min(Self.writeSize, bytes.count - written)
                let base = bytes.baseAddress?.advanced(by: written).assumingMemoryBound(to: CChar.self)
                return try session.finishingPartialSend { islet_channel_write(channel.raw, base, chunk) }
            }
            if n > 0 {
                written += n
                progress = true
                continue
            }
            if n == Int(LIBSSH2_ERROR_EAGAIN) || n == 0 { return false }
            // The command exited or closed its stdin without reading it all,
            // which is its business (`true` ignores input); its exit status tells.
            if try remoteClosed(channel) || n == Int(LIBSSH2_ERROR_CHANNEL_CLOSED)
                || n == Int(LIBSSH2_ERROR_CHANNEL_EOF_SENT)
            {
                return true
            }
            throw session.error(n, operation: "writing stdin of '\(command)'")
        }
        // The EOF packet lives on send_eof's stack; send it only when the
        // socket has room, so it is never left half sent.
        guard pollOne(session.socket.fd, events: Int16(POLLOUT), timeoutMs: 0) & Int16(POLLOUT) != 0 else {
            return false
        }
        let rc = try session.finishingPartialSend { Int(libssh2_channel_send_eof(channel.raw)) }
        if rc == 0 {
            progress = true
            return true
        }
        if rc == Int(LIBSSH2_ERROR_EAGAIN) { return false }
        if try remoteClosed(channel) { return true }
        throw session.error(rc, operation: "closing stdin of '\(command)'")
    }

    private func remoteClosed(_ channel: Channel) throws -> Bool {
        guard libssh2_channel_eof(channel.raw) != 0 else { return false }
        return try session.finishingPartialSend { Int(libssh2_channel_wait_closed(channel.raw)) } == 0
    }

    /// After output EOF the server sends exit-status and then CLOSE; only
    /// then is the exit status known.
    private func waitClosed(_ channel: Channel) throws -> Bool {
        let rc = try session.finishingPartialSend { Int(libssh2_channel_wait_closed(channel.raw)) }
        if rc == 0 { return true }
        if rc == Int(LIBSSH2_ERROR_EAGAIN) { return false }
        throw session.error(rc, operation: "waiting for '\(command)' to finish")
    }

    private func exitStatus(_ channel: Channel) -> SSHExitStatus {
        var signal: UnsafeMutablePointer<CChar>?
        var signalLength = 0
        _ = libssh2_channel_get_exit_signal(channel.raw, &signal, &signalLength, nil, nil, nil, nil)
        if let signal {
            defer { libssh2_free(session.raw, signal) }
            if signalLength > 0 {
                let bytes = UnsafeRawBufferPointer(start: signal, count: signalLength)
                return SSHExitStatus(code: nil, signal: String(decoding: bytes, as: UTF8.self))
            }
        }
        return SSHExitStatus(code: libssh2_channel_get_exit_status(channel.raw), signal: nil)
    }
}
