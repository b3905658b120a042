import Foundation

/// Runs one batch of jobs on one node in a single round trip: prepares each step, sends one script, and
/// interprets and records each step the moment its last result line arrives.
struct BatchRunner: Sendable {
    let context: ApplyContext
    let jobs: [Job]
    let observer: ApplyObserver
    let interruption: Interruption

    func run(_ batch: Batch, scheduler: Scheduler) async {
        let members = batch.jobs.map { jobs[$0].change }
        guard let address = context.address(of: batch.executor) else {
            let message = "node \(batch.executor) is neither in the inventory nor in the state"
            for index in batch.jobs { scheduler.finished(index, .failed(message: message, log: nil)) }
            return
        }
        let session: any NodeSession
        switch await context.connections.session(for: address) {
        case .success(let open):
            session = open
        case .failure(let failure):
            for index in batch.jobs {
                scheduler.finished(index, .failed(message: failure.description, log: nil), nodeLost: true)
            }
            return
        }

        // Prepare every step; one that cannot be prepared fails alone, and the node skips what depends on it.
        var lives: [Int: StepLife] = [:]
        for (position, change) in members.enumerated() {
            do {
                lives[position] = try await StepLife.prepare(
                    change, executor: batch.executor, session: session, context: context)
            } catch let failure as StepFailure {
                scheduler.finished(batch.jobs[position], .failed(message: failure.message, log: failure.log))
            } catch {
                scheduler.finished(batch.jobs[position], .failed(message: "\(error)", log: nil))
            }
        }
        var script = NodeScript(filesystemRoot: session.filesystemRoot, lock: .exclusive)
        for (position, life) in lives where !life.runsOnNode { script.append("__ok_\(position)=1") }
        let prologue = script.takePart()
        var parts: [(position: Int, text: String)] = []
        for position in members.indices {
            guard let life = lives[position], life.runsOnNode else { continue }
            do {
                try life.appendFragment(to: &script, index: position, gates: batch.gates[position])
                parts.append((position, script.takePart()))
            } catch {
                _ = script.takePart()
                lives[position] = nil
                let message = context.log.masker.mask("\(error)")
                life.stepLog.closeKept(noting: "error: \(message)")
                scheduler.finished(batch.jobs[position], .failed(message: message, log: life.stepLog.path))
            }
        }
        guard !lives.isEmpty else { return }
        let prepared = lives

        // Each step's part goes to the node once the one before it is over, so Ctrl-C stops between steps;
        // the shell already runs, so that costs one packet, not a round trip of exec, sudo and sh.
        let feed = ScriptFeed()
        let sender = PartSender(parts: parts, feed: feed, interruption: interruption)
        feed.send(prologue)
        sender.sendNext(after: nil)
        // Results stream in; each step is interpreted and recorded in order, as soon as it is over.
        let (events, continuation) = AsyncStream.makeStream(of: NodeResultReader.Event.self)
        let started = ContinuousClock.now
        let startTimes = StartTimes()
        let reader = NodeResultReader(marker: script.marker) { event in
            switch event {
            case .text(let index?, let line):
                prepared[index]?.stepLog.append(OutputChunk(stream: .stdout, bytes: line + [0x0A]))
            case .result(.begin, let index?):
                startTimes.set(index)
                if let life = prepared[index] { observer.started(life.change) }
            case .result(.waiting, _):
                observer.notice(waitingForLockNotice(node: batch.executor))
            default:
                break
            }
            continuation.yield(event)
        }
        let errors = OutputCollector()
        let recorder = Task {
            for await event in events {
                switch event {
                case .result(.skipped, let index?):
                    sender.sendNext(after: index)
                case .ended(let index, let results):
                    // The next step goes to the node once this one is recorded: a kill loses no finished step.
                    defer { sender.sendNext(after: index) }
                    guard let life = prepared[index], !scheduler.isFinished(batch.jobs[index]) else { continue }
                    let outcome = await life.finish(results, scriptEnded: nil, context: context)
                    scheduler.finished(batch.jobs[index], outcome, duration: startTimes.elapsed(index, or: started))
                default:
                    continue
                }
            }
        }
        var ending: String
        var nodeLost = false
        do {
            let status = try await session.run(feed: feed) { chunk in
                switch chunk.stream {
                case .stdout: reader.read(chunk.bytes)
                case .stderr: errors.append(chunk.bytes)
                }
            }
            ending = "\(status)"
        } catch {
            ending = context.log.masker.mask("\(error)")
            // The round trip itself failed: whatever the cause, this node's later steps are not tried again in
            // this run. A dead connection is also marked so, for every other use of it (a remote removal).
            nodeLost = true
            await context.connections.markFailed(node: batch.executor, after: error)
        }
        feed.close()
        reader.finish()
        continuation.finish()
        await recorder.value

        // Steps without an end line: the script stopped early, or the node could not be reached any more.
        let snapshot = reader.snapshot
        if !snapshot.ready && !nodeLost {
            let stderr = context.log.masker.mask(errors.text.trimmingCharacters(in: .whitespacesAndNewlines))
            ending = "the node script could not start (\(ending))" + (stderr.isEmpty ? "" : ": \(stderr)")
        }
        for (position, life) in prepared.sorted(by: { $0.key < $1.key })
        where !scheduler.isFinished(batch.jobs[position]) {
            if life.runsOnNode && !sender.wasSent(position) {
                life.stepLog.closeKept(noting: "not started: interrupted")
                scheduler.finished(batch.jobs[position], .skipped(reason: "not started: interrupted"))
                continue
            }
            var results = snapshot.results[position] ?? StepResults()
            results.ended = nil
            let outcome = await life.finish(results, scriptEnded: ending, context: context)
            scheduler.finished(batch.jobs[position], outcome, nodeLost: nodeLost)
        }
    }
}

/// Sends a batch's step parts one at a time: the next once the node is done with the one before, none
/// after an interruption (then the feed closes and the script ends).
private final class PartSender: @unchecked Sendable {
    private let lock = NSLock()
    private let parts: [(position: Int, text: String)]
    private let feed: ScriptFeed
    private let interruption: Interruption
    private var next = 0
    private var sent: Set<Int> = []

    init(parts: [(position: Int, text: String)], feed: ScriptFeed, interruption: Interruption) {
        self.parts = parts
        self.feed = feed
        self.interruption = interruption
    }

    /// Sends the part after the one for `position` (the first part for nil), if that one was the last sent.
    func sendNext(after position: Int?) {
        lock.withLock {
            if let position, next == 0 || parts[next - 1].position != position { return }
            guard next < parts.count, !interruption.isRequested else {
                feed.close()
                return
            }
            sent.insert(parts[next].position)
            feed.send(parts[next].text)
            next += 1
        }
    }

    func wasSent(_ position: Int) -> Bool { lock.withLock { sent.contains(position) } }
}

/// When each step of a batch began, for the durations the progress display shows.
private final class StartTimes: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [Int: ContinuousClock.Instant] = [:]

    func set(_ index: Int) { lock.withLock { times[index] = .now } }
    func elapsed(_ index: Int, or fallback: ContinuousClock.Instant) -> Duration {
        ContinuousClock.now - lock.withLock { times[index] ?? fallback }
    }
}
