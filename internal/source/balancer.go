package source

// BalancerSide is an optional interface of a source that counts at the
// load balancer (HAProxy's scur + qcur, Apache's balancer-manager, F5, ELB,
// ARR), not in the application: a request the balancer has handed to the
// server but the application has not yet accepted is counted. Such a
// source's total (a Totaler: HAProxy's stot) is the balancer's own count of
// the requests it sent: when it does not move once the balancer says it
// stopped sending, nothing more is on its way (drain's default settle
// window is then 0).
type BalancerSide interface {
	BalancerSide() bool
}

func (*haproxySource) BalancerSide() bool        { return true }
func (*apacheBalancerSource) BalancerSide() bool { return true }
func (*f5Source) BalancerSide() bool             { return true }
func (*awsELBSource) BalancerSide() bool         { return true }
func (*arrSource) BalancerSide() bool            { return true }
