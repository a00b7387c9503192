package parquet

// SetHook installs a function called at named points of the commit
// protocol ("segments-synced", "manifest-tmp-synced", "manifest-renamed",
// "compact-segments-synced"). Tests use it to kill a process at a known
// point.
func SetHook(s *Store, f func(stage string)) { s.hook = f }
