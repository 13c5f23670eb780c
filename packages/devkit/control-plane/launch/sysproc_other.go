//go:build !linux

package main

import "syscall"

// Each part gets its own process group (a terminal's Ctrl-C reaches the launcher, which stops
// the parts in order).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
