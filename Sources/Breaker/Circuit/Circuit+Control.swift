import Synchronization

/// Reading and steering the circuit by hand: the decisions behind the breaker's control API.
extension Circuit {
    /// The operating mode.
    var mode: OperatingMode { read { machine, _ in machine.mode } }

    /// The time until a call may be let through, as of `now`; `nil` while closed.
    func retryAfter(now: Nanoseconds) -> Nanoseconds? {
        step(now: now) { machine, box in MachineStep(machine.retryAfter(now: now, policy: box.policy)) }
    }

    /// The instant until which a caller waits for a retry, as of `now`: the open period's end, or the
    /// deadline of the trials holding every slot (`.max` without one); `nil` or a past instant when a
    /// call may go now.
    func retryDeadline(now: Nanoseconds) -> Nanoseconds? {
        step(now: now) { machine, box -> MachineStep<Nanoseconds?> in
            guard machine.mode != .disabled, machine.mode != .metricsOnly else { return MachineStep(0) }
            if machine.trialsAreFull(policy: box.policy) {
                return MachineStep(machine.trialDeadline(policy: box.policy) ?? .max)
            }
            return MachineStep(machine.retryAfter(now: now, policy: box.policy).map { $0 == .max ? .max : now.addingSaturating($0) })
        }
    }

    /// Moves the circuit to `target` by hand, open for `duration` (the reset timeout if `nil`).
    func force(_ target: CircuitState, now: Nanoseconds, openFor duration: Nanoseconds?) {
        step(now: now) { machine, box in machine.force(target, now: now, openFor: duration ?? box.policy.resetTimeout) }
    }

    /// Sets the operating mode.
    func setMode(_ mode: OperatingMode, now: Nanoseconds) {
        step(now: now) { machine, box in machine.setMode(mode, now: now, policy: box.policy) }
    }

    /// The state, mode and window as of `now`, how long the circuit has been in that state, and the
    /// fraction of calls it admits (the ramp's, less what the throttle sheds).
    func view(now: Nanoseconds) -> (state: CircuitState, mode: OperatingMode, window: WindowSnapshot, timeInState: Nanoseconds, admittedFraction: Double) {
        var view = read { machine, box in
            machine.ageWindow(to: now)
            return (
                state: machine.state, mode: machine.mode, window: machine.windowSnapshot, timeInState: machine.stateSince.map { now - $0 } ?? 0,
                admittedFraction: machine.admittedFraction(now: now, policy: box.policy),
                throttling: machine.throttledUntil.map { now < $0 && machine.state == .closed && machine.mode == .normal } ?? false
            )
        }
        if view.throttling, let throttle {
            view.admittedFraction *= 1 - throttle._withUnsafeGuaranteedRef { $0.probability(at: now) }
        }
        return (view.state, view.mode, view.window, view.timeInState, view.admittedFraction)
    }
}
