import Breaker
