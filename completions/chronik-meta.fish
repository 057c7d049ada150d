# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_chronik_meta_global_optspecs
    string join \n log-level= log-format= output= h/help V/version
end

function __fish_chronik_meta_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_chronik_meta_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_chronik_meta_using_subcommand
    set -l cmd (__fish_chronik_meta_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -s V -l version -d 'Print version'
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -f -a "run" -d 'Run one voter of the quorum until SIGINT/SIGTERM (SIGHUP reloads its TLS files)'
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -f -a "status" -d 'Print the quorum, brokers and unhealthy partitions; exit 0 healthy, 1 degraded, 2 no quorum'
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -f -a "topics" -d 'Create, list, describe and delete topics'
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -f -a "partitions" -d 'Move partition replicas between brokers'
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -f -a "brokers" -d 'Retire brokers'
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -f -a "members" -d 'Add or remove voters of the quorum'
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -f -a "config" -d 'Inspect a voter\'s settings'
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -f -a "users" -d 'Add, delete and list SCRAM users (the credentials brokers authenticate clients with)'
complete -c chronik-meta -n "__fish_chronik_meta_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l id -d 'This voter\'s id (from 1), unique in the quorum' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l listen -d 'Address to serve gRPC on (peers, brokers and tools connect here)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l advertise -d 'Address others reach this node at, when not the listen address (e.g. behind NAT)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l data-dir -d 'Where the Raft log and snapshots live (created if missing; locked while running)' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l peers -d 'Initial voters as ID=HOST:PORT,... including this one; the same on every voter. Omit for a single-voter quorum. A node not in the list joins later via `members add`' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l cluster-id -d 'Cluster id, required for a new multi-voter quorum; stored on first start and checked on every later start. Peers with another cluster id are refused' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l session-timeout-ms -d 'Milliseconds a broker may go without heartbeating before it is fenced and its partitions get new leaders: the failover time after a broker dies. Brokers heartbeat every quarter of it and give up on an unanswering meta node after another quarter, so one cut-off meta node does not cost them their session. A controller that takes over gives every broker a full session' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l metrics-addr -d 'Serve Prometheus metrics (Raft term, commit index, leader changes, brokers, unhealthy partitions) on this address at /metrics' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l preferred-leader-interval-s -d 'Seconds between the leader\'s preferred-leader elections' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l auto-balance -d 'Even out partition replicas across live brokers, one partition move at a time (a joining broker gets its share); false leaves placement to `partitions reassign`' -r -f -a "true\t''
false\t''"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l snapshot-entries -d 'Applied Raft entries that trigger a snapshot of the metadata state and compaction of the log; a voter that lags further behind catches up through the snapshot' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l config -d 'TOML file of settings keyed by long flag name (e.g. `peers = "1=a:9190,2=b:9190"`); flags and CHRONIK_* variables win over it' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand status" -l meta -d 'Meta node addresses (HOST:PORT,...); any reachable node will do' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand status" -l timeout-ms -d 'Milliseconds to wait for each node (and, for changes, for the whole operation ×2)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand status" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand status" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand status" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand status" -l topic -d 'Also list every partition of this topic with its leader, replicas and ISR (repeatable)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand status" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand status" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand status" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete help" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete help" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete help" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete help" -f -a "create" -d 'Create a topic (needs as many live brokers as the replication factor)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete help" -f -a "list" -d 'List topics'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete help" -f -a "describe" -d 'Show topics\' partitions (all topics when no name is given)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete help" -f -a "delete" -d 'Delete a topic'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from create" -l meta -d 'Meta node addresses (HOST:PORT,...); any reachable node will do' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from create" -l timeout-ms -d 'Milliseconds to wait for each node (and, for changes, for the whole operation ×2)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from create" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from create" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from create" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from create" -l partitions -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from create" -l replication-factor -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from create" -l config -d 'Topic config KEY=VALUE (repeatable)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from create" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from create" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from create" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from list" -l meta -d 'Meta node addresses (HOST:PORT,...); any reachable node will do' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from list" -l timeout-ms -d 'Milliseconds to wait for each node (and, for changes, for the whole operation ×2)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from list" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from list" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from list" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from list" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from list" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from list" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from describe" -l meta -d 'Meta node addresses (HOST:PORT,...); any reachable node will do' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from describe" -l timeout-ms -d 'Milliseconds to wait for each node (and, for changes, for the whole operation ×2)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from describe" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from describe" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from describe" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from describe" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from describe" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from describe" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from describe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from delete" -l meta -d 'Meta node addresses (HOST:PORT,...); any reachable node will do' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from delete" -l timeout-ms -d 'Milliseconds to wait for each node (and, for changes, for the whole operation ×2)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from delete" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from delete" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from delete" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from delete" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from delete" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from delete" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a topic (needs as many live brokers as the replication factor)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "list" -d 'List topics'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "describe" -d 'Show topics\' partitions (all topics when no name is given)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a topic'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and not __fish_seen_subcommand_from reassign help" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and not __fish_seen_subcommand_from reassign help" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and not __fish_seen_subcommand_from reassign help" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and not __fish_seen_subcommand_from reassign help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and not __fish_seen_subcommand_from reassign help" -f -a "reassign" -d 'Move a partition to other brokers: the new replicas are added and catch up through replication, then the others are dropped, so the partition never has fewer copies. Interrupted, it can be run again to continue'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and not __fish_seen_subcommand_from reassign help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -l meta -d 'Meta node addresses (HOST:PORT,...); any reachable node will do' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -l timeout-ms -d 'Milliseconds to wait for each node (and, for changes, for the whole operation ×2)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -l topic -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -l partition -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -l replicas -d 'The new replicas as broker ids (ID,ID,...); the first is the preferred leader' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -l wait-s -d 'Seconds to wait for the new replicas to catch up before giving up (they stay added)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from reassign" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from help" -f -a "reassign" -d 'Move a partition to other brokers: the new replicas are added and catch up through replication, then the others are dropped, so the partition never has fewer copies. Interrupted, it can be run again to continue'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand partitions; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and not __fish_seen_subcommand_from decommission help" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and not __fish_seen_subcommand_from decommission help" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and not __fish_seen_subcommand_from decommission help" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and not __fish_seen_subcommand_from decommission help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and not __fish_seen_subcommand_from decommission help" -f -a "decommission" -d 'Retire a broker: nothing new is placed on it, the controller moves its replicas to the other brokers (each new copy catches up before the old one goes), then fences it for good; `status` shows the replicas it still holds. Stop the broker once it is fenced'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and not __fish_seen_subcommand_from decommission help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from decommission" -l meta -d 'Meta node addresses (HOST:PORT,...); any reachable node will do' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from decommission" -l timeout-ms -d 'Milliseconds to wait for each node (and, for changes, for the whole operation ×2)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from decommission" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from decommission" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from decommission" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from decommission" -l wait-s -d 'Seconds to wait until it holds no replica and is fenced (0: return at once)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from decommission" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from decommission" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from decommission" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from decommission" -l cancel -d 'Take a decommissioning broker back: moves stop where they are and it is unfenced again when it heartbeats'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from decommission" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from help" -f -a "decommission" -d 'Retire a broker: nothing new is placed on it, the controller moves its replicas to the other brokers (each new copy catches up before the old one goes), then fences it for good; `status` shows the replicas it still holds. Stop the broker once it is fenced'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand brokers; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and not __fish_seen_subcommand_from add remove help" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and not __fish_seen_subcommand_from add remove help" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and not __fish_seen_subcommand_from add remove help" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and not __fish_seen_subcommand_from add remove help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and not __fish_seen_subcommand_from add remove help" -f -a "add" -d 'Add a voter; start it first with --peers listing the current voters (not itself)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and not __fish_seen_subcommand_from add remove help" -f -a "remove" -d 'Remove a voter'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and not __fish_seen_subcommand_from add remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from add" -l meta -d 'Meta node addresses (HOST:PORT,...); any reachable node will do' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from add" -l timeout-ms -d 'Milliseconds to wait for each node (and, for changes, for the whole operation ×2)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from add" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from add" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from add" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from add" -l id -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from add" -l address -d 'The new voter\'s HOST:PORT' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from add" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from add" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from add" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from remove" -l meta -d 'Meta node addresses (HOST:PORT,...); any reachable node will do' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from remove" -l timeout-ms -d 'Milliseconds to wait for each node (and, for changes, for the whole operation ×2)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from remove" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from remove" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from remove" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from remove" -l id -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from remove" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from remove" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from remove" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a voter; start it first with --peers listing the current voters (not itself)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a voter'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand members; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and not __fish_seen_subcommand_from show help" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and not __fish_seen_subcommand_from show help" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and not __fish_seen_subcommand_from show help" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'Print the effective settings of `run` (give the same flags) and where each value came from: flag, env, file or default. Exit 2 when a setting is unknown, bad or missing'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l id -d 'This voter\'s id (from 1), unique in the quorum' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l listen -d 'Address to serve gRPC on (peers, brokers and tools connect here)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l advertise -d 'Address others reach this node at, when not the listen address (e.g. behind NAT)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l data-dir -d 'Where the Raft log and snapshots live (created if missing; locked while running)' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l peers -d 'Initial voters as ID=HOST:PORT,... including this one; the same on every voter. Omit for a single-voter quorum. A node not in the list joins later via `members add`' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l cluster-id -d 'Cluster id, required for a new multi-voter quorum; stored on first start and checked on every later start. Peers with another cluster id are refused' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l session-timeout-ms -d 'Milliseconds a broker may go without heartbeating before it is fenced and its partitions get new leaders: the failover time after a broker dies. Brokers heartbeat every quarter of it and give up on an unanswering meta node after another quarter, so one cut-off meta node does not cost them their session. A controller that takes over gives every broker a full session' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l metrics-addr -d 'Serve Prometheus metrics (Raft term, commit index, leader changes, brokers, unhealthy partitions) on this address at /metrics' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l preferred-leader-interval-s -d 'Seconds between the leader\'s preferred-leader elections' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l auto-balance -d 'Even out partition replicas across live brokers, one partition move at a time (a joining broker gets its share); false leaves placement to `partitions reassign`' -r -f -a "true\t''
false\t''"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l snapshot-entries -d 'Applied Raft entries that trigger a snapshot of the metadata state and compaction of the log; a voter that lags further behind catches up through the snapshot' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'TOML file of settings keyed by long flag name (e.g. `peers = "1=a:9190,2=b:9190"`); flags and CHRONIK_* variables win over it' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the effective settings of `run` (give the same flags) and where each value came from: flag, env, file or default. Exit 2 when a setting is unknown, bad or missing'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -f -a "add" -d 'Set a user\'s SCRAM credential, replacing the one it has for the same mechanism. The password is read from stdin (one line); only a random salt and the keys SCRAM derives from it reach the quorum'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -f -a "delete" -d 'Delete a user\'s SCRAM credential for one mechanism'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -f -a "list" -d 'List the users with their mechanisms and iteration counts (never salts or keys)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from add" -l meta -d 'Meta node addresses (HOST:PORT,...); any reachable node will do' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from add" -l timeout-ms -d 'Milliseconds to wait for each node (and, for changes, for the whole operation ×2)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from add" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from add" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from add" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from add" -l mechanism -d 'SCRAM-SHA-256 or SCRAM-SHA-512' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from add" -l iterations -d 'PBKDF2 iterations' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from add" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from add" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from add" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from add" -l password-stdin -d 'Read the password from stdin: one line, its trailing newline removed. Required: the password is never taken from an argument, which other users could see'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from delete" -l meta -d 'Meta node addresses (HOST:PORT,...); any reachable node will do' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from delete" -l timeout-ms -d 'Milliseconds to wait for each node (and, for changes, for the whole operation ×2)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from delete" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from delete" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from delete" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from delete" -l mechanism -d 'SCRAM-SHA-256 or SCRAM-SHA-512' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from delete" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from delete" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from delete" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from list" -l meta -d 'Meta node addresses (HOST:PORT,...); any reachable node will do' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from list" -l timeout-ms -d 'Milliseconds to wait for each node (and, for changes, for the whole operation ×2)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from list" -l tls-cert -d 'PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection, as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A running node reads all three files again on SIGHUP' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from list" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from list" -l tls-ca -d 'PEM certificates of the CA that signs every node\'s certificate: peers are checked against it, and a caller without a certificate it signed is refused' -r -F
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from list" -l log-level -d 'Log filter when RUST_LOG is unset (error, warn, info, debug, trace)' -r
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from list" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from list" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "add" -d 'Set a user\'s SCRAM credential, replacing the one it has for the same mechanism. The password is read from stdin (one line); only a random salt and the keys SCRAM derives from it reach the quorum'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a user\'s SCRAM credential for one mechanism'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the users with their mechanisms and iteration counts (never salts or keys)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and not __fish_seen_subcommand_from run status topics partitions brokers members config users help" -f -a "run" -d 'Run one voter of the quorum until SIGINT/SIGTERM (SIGHUP reloads its TLS files)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and not __fish_seen_subcommand_from run status topics partitions brokers members config users help" -f -a "status" -d 'Print the quorum, brokers and unhealthy partitions; exit 0 healthy, 1 degraded, 2 no quorum'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and not __fish_seen_subcommand_from run status topics partitions brokers members config users help" -f -a "topics" -d 'Create, list, describe and delete topics'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and not __fish_seen_subcommand_from run status topics partitions brokers members config users help" -f -a "partitions" -d 'Move partition replicas between brokers'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and not __fish_seen_subcommand_from run status topics partitions brokers members config users help" -f -a "brokers" -d 'Retire brokers'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and not __fish_seen_subcommand_from run status topics partitions brokers members config users help" -f -a "members" -d 'Add or remove voters of the quorum'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and not __fish_seen_subcommand_from run status topics partitions brokers members config users help" -f -a "config" -d 'Inspect a voter\'s settings'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and not __fish_seen_subcommand_from run status topics partitions brokers members config users help" -f -a "users" -d 'Add, delete and list SCRAM users (the credentials brokers authenticate clients with)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and not __fish_seen_subcommand_from run status topics partitions brokers members config users help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "create" -d 'Create a topic (needs as many live brokers as the replication factor)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "list" -d 'List topics'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "describe" -d 'Show topics\' partitions (all topics when no name is given)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "delete" -d 'Delete a topic'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and __fish_seen_subcommand_from partitions" -f -a "reassign" -d 'Move a partition to other brokers: the new replicas are added and catch up through replication, then the others are dropped, so the partition never has fewer copies. Interrupted, it can be run again to continue'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and __fish_seen_subcommand_from brokers" -f -a "decommission" -d 'Retire a broker: nothing new is placed on it, the controller moves its replicas to the other brokers (each new copy catches up before the old one goes), then fences it for good; `status` shows the replicas it still holds. Stop the broker once it is fenced'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and __fish_seen_subcommand_from members" -f -a "add" -d 'Add a voter; start it first with --peers listing the current voters (not itself)'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and __fish_seen_subcommand_from members" -f -a "remove" -d 'Remove a voter'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print the effective settings of `run` (give the same flags) and where each value came from: flag, env, file or default. Exit 2 when a setting is unknown, bad or missing'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "add" -d 'Set a user\'s SCRAM credential, replacing the one it has for the same mechanism. The password is read from stdin (one line); only a random salt and the keys SCRAM derives from it reach the quorum'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "delete" -d 'Delete a user\'s SCRAM credential for one mechanism'
complete -c chronik-meta -n "__fish_chronik_meta_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "list" -d 'List the users with their mechanisms and iteration counts (never salts or keys)'
