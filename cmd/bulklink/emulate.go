package main

import "context"

func runEmulate(ctx context.Context, args []string, e env) int { return exitUsage }
