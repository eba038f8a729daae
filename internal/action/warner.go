package action

import "context"

// Warner is an optional interface of an action with a consequence the
// operator should see just before it runs, such as an IIS recycle dropping
// ASP.NET InProc sessions. watched are the sources the drain waited on (as
// their specs read, e.g. "aspnet-sessions:Shop"): a consequence they
// already covered is not worth a warning. Warn returns "" when there is
// nothing to say; it must not change anything.
type Warner interface {
	Warn(ctx context.Context, watched []string) string
}

// warnerHooks find a Warner for actions that do not implement it themselves
// (a plain command that happens to be iisreset), added by the package that
// knows their consequences.
var warnerHooks []func(Action) Warner

// RegisterWarner adds f, asked by WarnerOf for an action that is not itself
// a Warner; f returns nil when it has nothing to say about a. Call it from
// an init function.
func RegisterWarner(f func(Action) Warner) { warnerHooks = append(warnerHooks, f) }

// WarnerOf returns what warns before a runs: a itself when it is a Warner,
// else the first registered hook's answer, else nil.
func WarnerOf(a Action) Warner {
	if w, ok := a.(Warner); ok {
		return w
	}
	for _, f := range warnerHooks {
		if w := f(a); w != nil {
			return w
		}
	}
	return nil
}
