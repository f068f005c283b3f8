#include "CBreaker.h"

_Thread_local uintptr_t c_breaker_thread_stripe = 0;
