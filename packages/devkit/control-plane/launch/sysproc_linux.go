package main

import "syscall"

// Each part gets its own process group (a terminal's Ctrl-C reaches the launcher, which stops
// the parts in order) and is killed if the launcher dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
