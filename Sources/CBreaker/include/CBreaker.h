#ifndef C_BREAKER_H
#define C_BREAKER_H

#include <stdint.h>

/// The calling thread's counter stripe number plus one; 0 until the thread is given one.
///
/// A C thread-local because Swift has none: reading it is one load relative to the thread pointer
/// in an executable (the linker relaxes the access), where a pthread key is a library call that
/// costs more than the count it serves. Only `Breaker`'s `ThreadStripe` uses it.
extern _Thread_local uintptr_t c_breaker_thread_stripe;

/// The calling thread's stripe number plus one, or 0.
static inline uintptr_t c_breaker_thread_stripe_get(void) { return c_breaker_thread_stripe; }

/// Gives the calling thread its stripe number plus one.
static inline void c_breaker_thread_stripe_set(uintptr_t value) { c_breaker_thread_stripe = value; }

#endif
