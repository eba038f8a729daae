#!/usr/bin/python
# -*- coding: utf-8 -*-
# The drain_cli.drain.drain module: runs the drain binary on the managed host
# (an argv list, never a shell string) with --output json and returns its
# result event.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: drain
short_description: Take a web server out of load-balancer rotation, wait until it is idle, put it back
description:
  - Runs the C(drain) program on the managed host with C(--output json) and returns the fields of its
    result event (C(result), C(rotation), C(exit_code), C(error)) and every event it printed.
  - C(state=out) takes the server out of rotation (C(drain out)); C(state=in) puts it back (C(drain in));
    C(state=drained) takes it out, waits until every source stays quiet, then runs the I(action) if one
    is given (C(drain run)). A run that fails before the action puts the server back in rotation itself.
  - C(changed) is true only when the rotation changed, whatever the state, as C(community.general.haproxy)
    reports it. A server already out reports C(changed=false) for C(state=out) and for C(state=drained), even
    though the action ran (see I(action_ran) and I(action_exit_code); register the result as C(r) and set
    C(changed_when) to C(r.changed or r.action_ran) where a handler must follow the action). One already in
    reports C(changed=false) for C(state=in). A run that took the server out and put it back in itself (a
    timeout, an interrupt) leaves the rotation where it was, C(changed=false).
  - In check mode the module runs drain with C(--dry-run), which reads the rotation and every source once and
    changes nothing, and reports C(changed=true) when the run would change the rotation.
  - On failure the module fails with drain's exit code as C(rc) and drain's final line as C(msg), with the
    server's rotation state as C(rotation), one of C(IN), C(OUT) or C(UNKNOWN).
  - Options are named after drain's long flags, with underscores; each is passed only to the states whose
    command takes that flag, and giving one to another state is an error. See C(drain run --help) and
    the README of drain for what each flag does.
  - The module never builds a shell command line; the action is an argument vector after C(--).
version_added: 1.0.0
author:
  - drain-cli (@drain-cli)
requirements:
  - The C(drain) program on the managed host (the role C(drain_cli.drain.install) installs a release).
options:
  state:
    description:
      - C(out) takes the server out of rotation. C(in) puts it back. C(drained) takes it out, waits until
        it is idle, then runs the I(action).
    type: str
    required: true
    choices: [out, in, drained]
  binary:
    description:
      - The drain executable, a path or a name looked up in the managed host's PATH.
    type: str
    default: drain
  rotate:
    description:
      - Rotation methods, each C(TYPE:TARGET) (C(--rotate)); they change together or not at all.
      - For example C(keepalive:/var/www/keepalive.htm) or C(haproxy:/run/haproxy/admin.sock#web/web1).
    type: list
    elements: str
  keepalive:
    description:
      - The keep-alive page the load balancer probes (C(--keepalive)); shorthand for C(rotate=[keepalive:PATH]).
    type: path
  haproxy:
    description:
      - HAProxy runtime API sockets and servers, each C(ADDR#BACKEND/SERVER) (C(--haproxy)).
    type: list
    elements: str
  disabled_name:
    description:
      - The name the keep-alive page is renamed to when out (C(--disabled-name)).
    type: str
  down_content:
    description:
      - Content mode, write this text into the keep-alive page instead of renaming it (C(--down-content)).
    type: str
  verify_url:
    description:
      - URL of the keep-alive page (C(--verify-url)); it must stop answering 2xx after out, and answer 2xx
        after in with I(wait_healthy).
    type: str
  sources:
    description:
      - What to wait on (C(--source)), each C([NAME=]TYPE:TARGET[<=N]), for example
        C(nginx:http://127.0.0.1/nginx_status) or C(haproxy:/run/haproxy/admin.sock#web/web1).
      - Only for C(state=drained).
    type: list
    elements: str
  settle:
    description:
      - Every source must stay at or below its threshold this long (C(--settle)). A Go duration such as
        C(5s) or C(1m30s); a plain number is seconds. Only for C(state=drained).
    type: str
  lb_grace:
    description:
      - Minimum time out of rotation before drained, the balancer's probe interval times its fall count
        (C(--lb-grace)). A Go duration; a plain number is seconds. Only for C(state=drained).
    type: str
  interval:
    description:
      - Poll period (C(--interval)). A Go duration; a plain number is seconds.
    type: str
  timeout:
    description:
      - Give up after this long (C(--timeout)); C(0) is no limit. A Go duration; a plain number is seconds.
    type: str
  read_timeout:
    description:
      - Limit for one read of one source (C(--read-timeout)). A Go duration; a plain number is seconds.
    type: str
  action:
    description:
      - The action, an argument vector run once the server is drained (after C(--)), for example
        C([systemctl, stop, nginx]). Never run through a shell unless I(shell) is true.
      - Only for C(state=drained).
    type: list
    elements: str
  shell:
    description:
      - Run the action through the shell (C(--shell)). Only for C(state=drained).
    type: bool
    default: false
  action_timeout:
    description:
      - Kill the action and its children after this long (C(--action-timeout)). Only for C(state=drained).
    type: str
  on_timeout:
    description:
      - On timeout, C(fail) (do not run the action) or C(force) (run it anyway) (C(--on-timeout)).
        Only for C(state=drained).
    type: str
    choices: [fail, force]
  keep_out:
    description:
      - On failure or interrupt leave the server out of rotation (C(--keep-out)). For C(state=out) and
        C(state=drained).
    type: bool
    default: false
  min_in_rotation:
    description:
      - Disruption budget (C(--min-in-rotation)), refuse (exit 5) to take the server out when fewer than
        this many other servers of its pool would stay in rotation. For C(state=out) and C(state=drained).
    type: int
  wait_turn:
    description:
      - With I(min_in_rotation), wait up to this long for the budget to allow the change (C(--wait-turn)).
        For C(state=out) and C(state=drained).
    type: str
  pool:
    description:
      - A pool view drain only reads, never changes (C(--pool)), e.g. C(haproxy:/run/haproxy/admin.sock#web/app1) beside a
        keep-alive page, for the budget (I(min_in_rotation)) and for I(wait_healthy) (the balancer has the server up from a
        check made after the in).
    type: str
  allow_unread_source:
    description:
      - Sources (by C(NAME=) or spec) that may be unreadable before the server goes out, because they answer only once it is
        out (C(--allow-unread-source)). Any other source that cannot be read then stops the run, nothing changed. For
        C(state=drained).
    type: list
    elements: str
  lock:
    description:
      - etcd v3 for the pool across machines, C(etcd:URL) (C(--lock)).
    type: list
    elements: str
  wait_healthy:
    description:
      - Wait until I(verify_url) answers 2xx and the load balancer reports the server up (C(--wait-healthy)).
        Only for C(state=in).
    type: bool
    default: false
  warm_up:
    description:
      - URLs to request until they answer 2xx before the server goes back into rotation (C(--warm-up)).
        Only for C(state=in).
    type: list
    elements: str
  warm_up_count:
    description:
      - 2xx answers each I(warm_up) URL must give (C(--warm-up-count)). Only for C(state=in).
    type: int
  force_restore:
    description:
      - Content mode, restore the page from before out even if it changed since (C(--force-restore)).
        Only for C(state=in).
    type: bool
    default: false
  state_dir:
    description:
      - Directory for drain's records of changes and its locks (C(--state-dir)).
    type: path
  reason:
    description:
      - Who or why, recorded with the change and shown by C(drain status) (C(--reason)).
    type: str
  config:
    description:
      - A drain YAML config file (C(--config)).
    type: path
  ca_file:
    description:
      - Trust the CA certificates in this PEM file for https sources and balancer APIs (C(--ca-file)).
    type: path
  insecure:
    description:
      - Do not verify https certificates (C(--insecure)); self-signed test servers only.
    type: bool
    default: false
  basic_auth_file:
    description:
      - Send user:password from this file as basic auth to HTTP sources (C(--basic-auth-file)).
        Only for C(state=drained).
    type: path
  bearer_token_file:
    description:
      - Send the token in this file as a bearer token to HTTP sources (C(--bearer-token-file)).
        Only for C(state=drained).
    type: path
  report:
    description:
      - At the end, draw the run's timeline into this file, C(.svg), C(.html) or C(.md) (C(--report)).
        Only for C(state=drained).
    type: path
notes:
  - Check mode is supported; it runs drain with C(--dry-run).
  - Interrupting the play (Ctrl-C) reaches drain too; a run that has not started its action puts the server
    back in rotation.
seealso:
  - name: drain
    description: The drain README, its flags, sources, rotation methods and exit codes.
    link: https://github.com/drain-cli/drain
'''

EXAMPLES = r'''
- name: Take out of rotation, wait until nginx is idle, stop it
  drain_cli.drain.drain:
    state: drained
    keepalive: /var/www/keepalive.htm
    verify_url: http://127.0.0.1/keepalive.htm
    lb_grace: 6s
    sources:
      - nginx:http://127.0.0.1/nginx_status
    timeout: 5m
    reason: "deploy {{ version }}"
    action: [systemctl, stop, nginx]

- name: Back into rotation once the keep-alive page answers and HAProxy has it UP
  drain_cli.drain.drain:
    state: in
    keepalive: /var/www/keepalive.htm
    verify_url: http://127.0.0.1/keepalive.htm
    wait_healthy: true
    timeout: 60s

- name: Out through HAProxy's runtime API, at most one of the pool at a time
  drain_cli.drain.drain:
    state: out
    haproxy:
      - /run/haproxy/admin.sock#web/{{ inventory_hostname }}
    min_in_rotation: 2
    wait_turn: 2m
  register: out

- name: Show where the server stands
  ansible.builtin.debug:
    msg: "{{ out.rotation }} (changed: {{ out.changed }})"
'''

RETURN = r'''
result:
  description: The result of drain's result event, C(ok), C(drained), C(forced), C(timeout), C(interrupted),
    C(error), C(dry-run), C(action-failed) or C(refused).
  returned: when drain printed its result event
  type: str
  sample: drained
rotation:
  description: Where the server stands after the run (in check mode, where it stands now), C(IN), C(OUT) or C(UNKNOWN).
  returned: when drain printed its result event
  type: str
  sample: OUT
exit_code:
  description: drain's exit code as its result event says (0, 1, 2 usage, 3 timeout, 4 action failed, 5 refused, 130 interrupted).
  returned: when drain printed its result event
  type: int
  sample: 0
rc:
  description: drain's exit code.
  returned: always
  type: int
  sample: 0
error:
  description: The error of the result event.
  returned: when drain failed
  type: str
  sample: "not drained within 1m0s: still waiting on nginx:http://127.0.0.1/nginx_status=2 (threshold 0)"
rotation_changed:
  description: Whether the rotation is not where it was before the run (a target drain took out or put in, and
    did not change back). The same as C(changed) outside check mode; always false in check mode.
  returned: always
  type: bool
  sample: true
action_ran:
  description: Whether the action ran (state drained).
  returned: always
  type: bool
  sample: true
action_exit_code:
  description: The action's exit code.
  returned: when the action ran
  type: int
  sample: 0
would_change:
  description: In check mode, whether the run would change the rotation (the action does not count).
  returned: in check mode
  type: bool
  sample: true
events:
  description: Every NDJSON event drain printed, in order (out, poll, drained, action, in, warning, result, ...).
  returned: always
  type: list
  elements: dict
  sample: [{"event": "out", "rotation": "OUT", "changed": true, "target": "/var/www/keepalive.htm"}]
hint:
  description: drain's advice with a failure (its C(hint:) line).
  returned: when drain gave one
  type: str
  sample: "check --keepalive"
warnings_drain:
  description: The messages of drain's warning events.
  returned: always
  type: list
  elements: str
  sample: []
cmd:
  description: The argument vector drain ran with.
  returned: always
  type: list
  elements: str
  sample: [drain, out, --output, json, --ci, "off", --keepalive, /var/www/keepalive.htm]
stderr:
  description: What drain wrote to its standard error (its human lines, the action's output).
  returned: always
  type: str
  sample: ""
'''

import json
import re

from ansible.module_utils.basic import AnsibleModule

# Each option: (flag, kind, states). kind is str, path, list (the flag repeated
# for each element), bool (a switch), int or duration (a Go duration; a plain
# number is seconds). The states are those whose command takes the flag.
ALL = ('out', 'in', 'drained')
OUT_RUN = ('out', 'drained')
RUN = ('drained',)
IN = ('in',)

FLAGS = {
    'config': ('--config', 'path', ALL),
    'rotate': ('--rotate', 'list', ALL),
    'keepalive': ('--keepalive', 'path', ALL),
    'haproxy': ('--haproxy', 'list', ALL),
    'disabled_name': ('--disabled-name', 'str', ALL),
    'down_content': ('--down-content', 'str', ALL),
    'verify_url': ('--verify-url', 'str', ALL),
    'sources': ('--source', 'list', RUN),
    'settle': ('--settle', 'duration', RUN),
    'lb_grace': ('--lb-grace', 'duration', RUN),
    'interval': ('--interval', 'duration', ALL),
    'timeout': ('--timeout', 'duration', ALL),
    'read_timeout': ('--read-timeout', 'duration', ALL),
    'shell': ('--shell', 'bool', RUN),
    'action_timeout': ('--action-timeout', 'duration', RUN),
    'on_timeout': ('--on-timeout', 'str', RUN),
    'keep_out': ('--keep-out', 'bool', OUT_RUN),
    'min_in_rotation': ('--min-in-rotation', 'int', OUT_RUN),
    'wait_turn': ('--wait-turn', 'duration', OUT_RUN),
    'lock': ('--lock', 'list', ALL),
    'pool': ('--pool', 'str', ALL),
    'allow_unread_source': ('--allow-unread-source', 'list', RUN),
    'wait_healthy': ('--wait-healthy', 'bool', IN),
    'warm_up': ('--warm-up', 'list', IN),
    'warm_up_count': ('--warm-up-count', 'int', IN),
    'force_restore': ('--force-restore', 'bool', IN),
    'state_dir': ('--state-dir', 'path', ALL),
    'reason': ('--reason', 'str', ALL),
    'ca_file': ('--ca-file', 'path', ALL),
    'insecure': ('--insecure', 'bool', ALL),
    'basic_auth_file': ('--basic-auth-file', 'path', RUN),
    'bearer_token_file': ('--bearer-token-file', 'path', RUN),
    'report': ('--report', 'path', RUN),
}

COMMANDS = {'out': 'out', 'in': 'in', 'drained': 'run'}

ARGUMENT_SPEC = dict(
    state=dict(type='str', required=True, choices=['out', 'in', 'drained']),
    binary=dict(type='str', default='drain'),
    rotate=dict(type='list', elements='str'),
    keepalive=dict(type='path'),
    haproxy=dict(type='list', elements='str'),
    disabled_name=dict(type='str'),
    down_content=dict(type='str'),
    verify_url=dict(type='str'),
    sources=dict(type='list', elements='str'),
    settle=dict(type='str'),
    lb_grace=dict(type='str'),
    interval=dict(type='str'),
    timeout=dict(type='str'),
    read_timeout=dict(type='str'),
    action=dict(type='list', elements='str'),
    shell=dict(type='bool', default=False),
    action_timeout=dict(type='str'),
    on_timeout=dict(type='str', choices=['fail', 'force']),
    keep_out=dict(type='bool', default=False),
    min_in_rotation=dict(type='int'),
    wait_turn=dict(type='str'),
    lock=dict(type='list', elements='str'),
    pool=dict(type='str'),
    allow_unread_source=dict(type='list', elements='str'),
    wait_healthy=dict(type='bool', default=False),
    warm_up=dict(type='list', elements='str'),
    warm_up_count=dict(type='int'),
    force_restore=dict(type='bool', default=False),
    state_dir=dict(type='path'),
    reason=dict(type='str'),
    config=dict(type='path'),
    ca_file=dict(type='path'),
    insecure=dict(type='bool', default=False),
    basic_auth_file=dict(type='path'),
    bearer_token_file=dict(type='path'),
    report=dict(type='path'),
)

DURATION = re.compile(r'^[0-9]+(\.[0-9]+)?$')


def duration(value):
    """A plain number is seconds; anything else goes to drain as it is."""
    value = value.strip()
    if DURATION.match(value):
        return value + 's'
    return value


def build_argv(binary, params):
    """The argument vector for drain, and a usage error (or None)."""
    state = params['state']
    argv = [binary, COMMANDS[state], '--output', 'json', '--ci', 'off']
    for name in sorted(FLAGS):
        flag, kind, states = FLAGS[name]
        value = params.get(name)
        if value is None or value is False or value == [] or value == '':
            continue
        if state not in states:
            wanted = ', '.join('state=%s' % s for s in states)
            return None, 'option %s is for %s, not state=%s' % (name, wanted, state)
        if kind == 'bool':
            argv.append(flag)
        elif kind == 'list':
            for v in value:
                # --flag=VALUE: a value that starts with "-" stays a value
                argv.append('%s=%s' % (flag, v))
        elif kind == 'duration':
            argv.append('%s=%s' % (flag, duration(value)))
        else:
            argv.append('%s=%s' % (flag, value))
    action = params.get('action')
    if action:
        if state != 'drained':
            return None, 'option action is for state=drained, not state=%s' % state
        argv.append('--')
        argv.extend(action)
    return argv, None


def parse_events(stdout):
    """The NDJSON events drain printed; lines that are not JSON objects are skipped."""
    events = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith('{'):
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if isinstance(ev, dict):
            events.append(ev)
    return events


def last_line(text):
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ''


def final_line(command, rc, result, stderr):
    """drain's final line: its error and where the server stands."""
    if result is not None:
        what = result.get('error') or result.get('result') or 'failed'
        line = 'drain %s: %s' % (command, what)
        if result.get('rotation'):
            line += '; server is %s rotation' % result['rotation']
        return line + ' (exit %d)' % rc
    tail = last_line(stderr)
    if tail:
        return '%s (exit %d)' % (tail, rc)
    return 'drain %s exited %d without a result event' % (command, rc)


def would_change(state, rotation):
    """Check mode: whether the run would change the rotation (the action does not count)."""
    if state == 'in':
        return rotation != 'IN'
    return rotation != 'OUT'


def net_rotation_change(events):
    """Whether a target's rotation is not where it was before the run.

    Each out or in event with changed true moved one target; a target's moves
    alternate (out, in, out ...), so an odd count leaves it changed and an even
    one (out, then put back in by drain after a timeout) where it was.
    """
    moves = {}
    for ev in events:
        if ev.get('event') in ('out', 'in') and ev.get('changed') is True:
            target = ev.get('target', '')
            moves[target] = moves.get(target, 0) + 1
    return any(n % 2 == 1 for n in moves.values())


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    state = params['state']
    command = COMMANDS[state]

    binary = params['binary']
    if '/' not in binary and '\\' not in binary:
        binary = module.get_bin_path(binary, required=True)

    argv, usage = build_argv(binary, params)
    if usage:
        module.fail_json(msg=usage, rc=2, changed=False)
    if module.check_mode:
        argv.insert(2, '--dry-run')

    rc, stdout, stderr = module.run_command(argv, environ_update={'NO_COLOR': '1'})
    events = parse_events(stdout)
    result = None
    for ev in events:
        if ev.get('event') == 'result':
            result = ev

    rotation_changed = net_rotation_change(events)
    action_exits = [ev['action_exit_code'] for ev in events
                    if ev.get('event') == 'action' and isinstance(ev.get('action_exit_code'), int)]

    out = dict(
        cmd=argv,
        rc=rc,
        events=events,
        warnings_drain=[ev.get('message', '') for ev in events if ev.get('event') == 'warning'],
        stderr=stderr,
        rotation_changed=rotation_changed and not module.check_mode,
        action_ran=bool(action_exits) and not module.check_mode,
    )
    if action_exits:
        out['action_exit_code'] = action_exits[-1]
    if result is not None:
        for key in ('result', 'rotation', 'exit_code', 'error'):
            if key in result:
                out[key] = result[key]

    hints = [ln.strip()[len('hint: '):] for ln in stderr.splitlines() if ln.strip().startswith('hint: ')]
    if hints:
        out['hint'] = hints[-1]

    if rc != 0 or result is None:
        # A failed run may still have changed the rotation (an out that
        # stayed out with keep_out, an in before a failed wait): changed says so.
        out['changed'] = out['rotation_changed']
        module.fail_json(msg=final_line(command, rc, result, stderr), **out)

    if module.check_mode:
        out['would_change'] = would_change(state, result.get('rotation'))
        out['changed'] = out['would_change']
    else:
        out['changed'] = out['rotation_changed']
    module.exit_json(**out)


if __name__ == '__main__':
    main()
