package action

func init() {
	RegisterBuiltin(Builtin{
		Name: StopService, Arg: "SERVICE", OS: "windows",
		Summary: "stops a Windows service through the Service Control Manager and waits until it is STOPPED",
		New:     newStopService,
	})
}
