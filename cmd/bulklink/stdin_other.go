//go:build !unix

package main

import "os"

// detachStdin is standard input as it is where descriptors cannot be moved.
func detachStdin() *os.File { return os.Stdin }
