package etcd

import "time"

// LoseAnswers makes the commit tries of b whose lose() reports true go
// through in etcd while b takes them for lost (a member died before
// answering).
func LoseAnswers(b *Backend, lose func() bool) { b.lostAnswer = lose }

// SweepMarkers runs one sweep of b's commit markers as if at now.
func SweepMarkers(b *Backend, now time.Time) error { return b.sweepOnce(now) }
