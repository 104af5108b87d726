"""Benchmarks behind "light and fast" (`make bench`): they print figures; `make test` skips them."""
