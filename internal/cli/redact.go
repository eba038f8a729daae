package cli

import (
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/sink"
	"github.com/drain-cli/drain/internal/state"
)

// redactEvent hides the user info of URLs in every text of an event before
// it is shown, written as JSON or sent to the audit log: a source's name or
// error, a message quoting a reason, the action's command line.
func redactEvent(e drain.Event) drain.Event {
	e.Target = redact.String(e.Target)
	e.Message = redact.String(e.Message)
	e.Reason = redact.String(e.Reason)
	e.Action = redact.String(e.Action)
	e.Error = redact.String(e.Error)
	e.Hint = redact.String(e.Hint)
	if len(e.Sources) > 0 {
		rs := make([]drain.Reading, len(e.Sources))
		for i, r := range e.Sources {
			r.Source, r.Name, r.Error, r.Note = redact.String(r.Source), redact.String(r.Name), redact.String(r.Error), redact.String(r.Note)
			rs[i] = r
		}
		e.Sources = rs
	}
	if len(e.Blocking) > 0 {
		bs := make([]string, len(e.Blocking))
		for i, b := range e.Blocking {
			bs[i] = redact.String(b)
		}
		e.Blocking = bs
	}
	if len(e.Requests) > 0 {
		rq := make([]drain.Request, len(e.Requests))
		for i, r := range e.Requests {
			r.URL = redact.String(r.URL)
			rq[i] = r
		}
		e.Requests = rq
	}
	return e
}

// redactStatus does the same for a status report, including the reason of
// a record that an older drain wrote before reasons were redacted.
func redactStatus(rep statusReport) statusReport {
	ev := redactEvent(drain.Event{Target: rep.Target, Message: rep.Error, Sources: rep.Sources, Requests: rep.Requests, Error: rep.RequestsError})
	rep.Target, rep.Error, rep.Sources, rep.Requests, rep.RequestsError = ev.Target, ev.Message, ev.Sources, ev.Requests, ev.Error
	if rep.Record != nil {
		rec := *rep.Record
		rec.Reason = redact.String(rec.Reason)
		rep.Record = &rec
	}
	rep.Hint = redact.String(rep.Hint)
	return rep
}

// sanitizeStatus makes the outside text of a status report safe to print
// (sink.SanitizeEvent): the record's one-line fields stay one line, as the
// readings, the requests and the parts do.
func sanitizeStatus(rep statusReport) statusReport {
	ev := sink.SanitizeEvent(drain.Event{Target: rep.Target, Error: rep.Error, Sources: rep.Sources, Requests: rep.Requests})
	rep.Target, rep.Error, rep.Sources, rep.Requests = ev.Target, ev.Error, ev.Sources, ev.Requests
	rep.Rotation, rep.RequestsError, rep.OldRecordFile, rep.Hint = sink.SanitizeLine(rep.Rotation), sink.Sanitize(rep.RequestsError), sink.SanitizeLine(rep.OldRecordFile), sink.SanitizeLine(rep.Hint)
	if rep.Record != nil {
		rec := *rep.Record
		rec.Reason, rec.By, rec.Method, rec.Command, rec.Result, rec.Phase = sink.SanitizeLine(rec.Reason), sink.SanitizeLine(rec.By), sink.SanitizeLine(rec.Method), sink.SanitizeLine(rec.Command), sink.SanitizeLine(rec.Result), state.Phase(sink.SanitizeLine(string(rec.Phase)))
		rep.Record = &rec
	}
	if rep.Parts != nil {
		parts := make([]rotation.Part, len(rep.Parts))
		for i, p := range rep.Parts {
			parts[i] = rotation.Part{Target: sink.SanitizeLine(p.Target), State: sink.SanitizeLine(p.State)}
		}
		rep.Parts = parts
	}
	return rep
}

// sanitizePool does the same for a pool view: member names and details
// come from the balancer, reasons and owners from records in a shared
// directory or etcd.
func sanitizePool(rep poolReport) poolReport {
	line := sink.SanitizeLine
	rep.Target, rep.Pool, rep.Error = line(rep.Target), line(rep.Pool), sink.Sanitize(rep.Error)
	rows := make([]poolRow, len(rep.Members))
	for i, m := range rep.Members {
		m.Name, m.Addr, m.Admin, m.Health, m.Detail = line(m.Name), line(m.Addr), line(m.Admin), line(m.Health), line(m.Detail)
		if m.Drain != nil {
			ch := *m.Drain
			ch.From, ch.By, ch.Why, ch.Command, ch.Phase, ch.Record = line(ch.From), line(ch.By), line(ch.Why), line(ch.Command), line(ch.Phase), line(ch.Record)
			m.Drain = &ch
		}
		rows[i] = m
	}
	rep.Members = rows
	return rep
}
