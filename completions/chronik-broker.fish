# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_chronik_broker_global_optspecs
    string join \n id= listen= advertise= data-dir= fsync= num-partitions= auto-create-topics= max-request-bytes= max-connections= idle-timeout-ms= fetch-max-bytes= fetch-session-cache-slots= fetch-session-eviction-ms= replica-lag-time-max-ms= offsets-topic-replication-factor= offsets-topic-segment-bytes= group-initial-rebalance-delay-ms= group-consumer-session-timeout-ms= group-consumer-heartbeat-interval-ms= group-consumer-assignors= transaction-max-timeout-ms= meta= meta-listen= default-replication-factor= retention-ms= retention-bytes= segment-bytes= retention-check-interval-ms= log-cleaner-threads= log-cleaner-dedupe-buffer-size= log-cleaner-io-max-bytes-per-second= log-cleaner-backoff-ms= metrics-addr= config= log-level= log-format= h/help V/version
end

function __fish_chronik_broker_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_chronik_broker_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_chronik_broker_using_subcommand
    set -l cmd (__fish_chronik_broker_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l id -d 'Broker id (Kafka\'s node.id), from 1' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l listen -d 'Address the Kafka listener binds' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l advertise -d 'HOST:PORT clients are told to connect to (default: the bound address)' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l data-dir -d 'Directory of the partition logs and the embedded metadata node' -r -F
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l fsync -d 'When acknowledged writes reach the disk: always (before the ack), interval=MS, never' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l num-partitions -d 'Partitions of auto-created topics and of topics created without a count' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l auto-create-topics -d 'Create unknown topics on Metadata and Produce requests' -r -f -a "true\t''
false\t''"
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l max-request-bytes -d 'Largest request accepted, in bytes; a larger one closes the connection' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l max-connections -d 'Connections served at once; further clients wait to be accepted until one closes' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l idle-timeout-ms -d 'Close a connection that completes no request for this many milliseconds, silent or trickling one in too slowly (Kafka\'s connections.max.idle.ms)' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l fetch-max-bytes -d 'Most record bytes one Fetch response carries, whatever the client asks (Kafka\'s fetch.max.bytes); a larger first batch is still returned whole' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l fetch-session-cache-slots -d 'Incremental fetch sessions (KIP-227) kept at once (Kafka\'s max.incremental.fetch.session.cache.slots): a consumer or follower in a session sends and receives only the partitions that changed. 0 keeps none, so every fetch is full' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l fetch-session-eviction-ms -d 'When the fetch session cache is full, a session unused for this many milliseconds gives its slot to a new one, and a consumer\'s new session may take the slot of a smaller consumer session older than this (Kafka\'s min.incremental.fetch.session.eviction.ms)' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l replica-lag-time-max-ms -d 'A follower not caught up with its leader for this many milliseconds leaves the ISR until it catches up again (Kafka\'s replica.lag.time.max.ms)' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l offsets-topic-replication-factor -d 'Replicas of each __consumer_offsets partition when running on an external quorum (--meta); consumer groups wait until that many brokers are live' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l offsets-topic-segment-bytes -d 'segment.bytes of __consumer_offsets when this broker creates it (Kafka\'s offsets.topic.segment.bytes): the log cleaner compacts only its sealed segments' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l group-initial-rebalance-delay-ms -d 'How long the first rebalance of an empty consumer group waits for more members to join, in milliseconds, and again while members keep arriving, up to the rebalance timeout (Kafka\'s group.initial.rebalance.delay.ms); 0 completes it as soon as everyone known has joined' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l group-consumer-session-timeout-ms -d 'How long a member of a consumer-protocol group (group.protocol=consumer) lives without a heartbeat, in milliseconds (Kafka\'s group.consumer.session.timeout.ms); then its partitions go to the other members' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l group-consumer-heartbeat-interval-ms -d 'How often consumer-protocol members heartbeat, in milliseconds (Kafka\'s group.consumer.heartbeat.interval.ms); must be below the session timeout' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l group-consumer-assignors -d 'The server-side assignors consumer-protocol groups may choose with group.remote.assignor, the default first (Kafka\'s group.consumer.assignors)' -r -f -a "uniform\t''
range\t''"
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l transaction-max-timeout-ms -d 'The longest transaction.timeout.ms a transactional producer may ask for, in milliseconds (Kafka\'s transaction.max.timeout.ms); a longer one is refused with INVALID_TRANSACTION_TIMEOUT. Transactions open longer than their timeout are aborted' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l meta -d 'Meta nodes of an external metadata quorum (HOST:PORT,...) to use instead of the embedded one; see `chronik-meta run`' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l meta-listen -d 'Address the embedded metadata node\'s gRPC server binds (port 0 picks one); give a fixed one to inspect it with `chronik-meta status --meta ADDR`' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l default-replication-factor -d 'Replication factor of auto-created topics and of topics created without one' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l retention-ms -d 'Default retention.ms of topics: segments older than this are deleted; -1 keeps data forever. Topics override it with their own retention.ms' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l retention-bytes -d 'Default retention.bytes per partition: the oldest segments go beyond it; -1 means no limit' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l segment-bytes -d 'Default segment.bytes: a partition\'s segment rolls past this size' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l retention-check-interval-ms -d 'How often expired segments are deleted, in milliseconds' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l log-cleaner-threads -d 'Compacted logs cleaned at once (Kafka\'s log.cleaner.threads); 0 turns the log cleaner off and compacted topics grow' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l log-cleaner-dedupe-buffer-size -d 'Memory for the cleaner\'s key maps, all threads together (Kafka\'s log.cleaner.dedupe.buffer.size): a log with more keys is cleaned in several passes' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l log-cleaner-io-max-bytes-per-second -d 'Bytes the cleaner reads and writes per second, all threads together; -1: unlimited (Kafka\'s log.cleaner.io.max.bytes.per.second)' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l log-cleaner-backoff-ms -d 'How long the cleaner waits when no compacted log is due, in milliseconds (Kafka\'s log.cleaner.backoff.ms)' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l metrics-addr -d 'Serve Prometheus metrics over HTTP on this address (e.g. 127.0.0.1:9644)' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l config -d 'TOML file of settings, keyed by long flag name (e.g. `fsync = "never"`); flags and CHRONIK_* variables win over it' -r -F
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l log-level -d 'Log filter (RUST_LOG wins), e.g. info or chronik_broker=debug' -r
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -s V -l version -d 'Print version'
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -f -a "run" -d 'Run the broker until SIGINT/SIGTERM (the default command)'
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -f -a "status" -d 'Print the brokers, topics, partitions, leaders and ISR of any Kafka-compatible cluster; exit 0 healthy, 1 when a partition is under-replicated or offline, 2 when unreachable'
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -f -a "config" -d 'Inspect the broker\'s settings'
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -f -a "users" -d 'Add, delete and list SCRAM users in the embedded metadata of a stopped broker\'s data dir (exit 2 while a broker runs on it). For a broker on an external quorum use `chronik-meta users`; on a running broker, a Kafka admin client'
complete -c chronik-broker -n "__fish_chronik_broker_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l id -d 'Broker id (Kafka\'s node.id), from 1' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l listen -d 'Address the Kafka listener binds' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l advertise -d 'HOST:PORT clients are told to connect to (default: the bound address)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l data-dir -d 'Directory of the partition logs and the embedded metadata node' -r -F
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l fsync -d 'When acknowledged writes reach the disk: always (before the ack), interval=MS, never' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l num-partitions -d 'Partitions of auto-created topics and of topics created without a count' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l auto-create-topics -d 'Create unknown topics on Metadata and Produce requests' -r -f -a "true\t''
false\t''"
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l max-request-bytes -d 'Largest request accepted, in bytes; a larger one closes the connection' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l max-connections -d 'Connections served at once; further clients wait to be accepted until one closes' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l idle-timeout-ms -d 'Close a connection that completes no request for this many milliseconds, silent or trickling one in too slowly (Kafka\'s connections.max.idle.ms)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l fetch-max-bytes -d 'Most record bytes one Fetch response carries, whatever the client asks (Kafka\'s fetch.max.bytes); a larger first batch is still returned whole' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l fetch-session-cache-slots -d 'Incremental fetch sessions (KIP-227) kept at once (Kafka\'s max.incremental.fetch.session.cache.slots): a consumer or follower in a session sends and receives only the partitions that changed. 0 keeps none, so every fetch is full' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l fetch-session-eviction-ms -d 'When the fetch session cache is full, a session unused for this many milliseconds gives its slot to a new one, and a consumer\'s new session may take the slot of a smaller consumer session older than this (Kafka\'s min.incremental.fetch.session.eviction.ms)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l replica-lag-time-max-ms -d 'A follower not caught up with its leader for this many milliseconds leaves the ISR until it catches up again (Kafka\'s replica.lag.time.max.ms)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l offsets-topic-replication-factor -d 'Replicas of each __consumer_offsets partition when running on an external quorum (--meta); consumer groups wait until that many brokers are live' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l offsets-topic-segment-bytes -d 'segment.bytes of __consumer_offsets when this broker creates it (Kafka\'s offsets.topic.segment.bytes): the log cleaner compacts only its sealed segments' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l group-initial-rebalance-delay-ms -d 'How long the first rebalance of an empty consumer group waits for more members to join, in milliseconds, and again while members keep arriving, up to the rebalance timeout (Kafka\'s group.initial.rebalance.delay.ms); 0 completes it as soon as everyone known has joined' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l group-consumer-session-timeout-ms -d 'How long a member of a consumer-protocol group (group.protocol=consumer) lives without a heartbeat, in milliseconds (Kafka\'s group.consumer.session.timeout.ms); then its partitions go to the other members' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l group-consumer-heartbeat-interval-ms -d 'How often consumer-protocol members heartbeat, in milliseconds (Kafka\'s group.consumer.heartbeat.interval.ms); must be below the session timeout' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l group-consumer-assignors -d 'The server-side assignors consumer-protocol groups may choose with group.remote.assignor, the default first (Kafka\'s group.consumer.assignors)' -r -f -a "uniform\t''
range\t''"
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l transaction-max-timeout-ms -d 'The longest transaction.timeout.ms a transactional producer may ask for, in milliseconds (Kafka\'s transaction.max.timeout.ms); a longer one is refused with INVALID_TRANSACTION_TIMEOUT. Transactions open longer than their timeout are aborted' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l meta -d 'Meta nodes of an external metadata quorum (HOST:PORT,...) to use instead of the embedded one; see `chronik-meta run`' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l meta-listen -d 'Address the embedded metadata node\'s gRPC server binds (port 0 picks one); give a fixed one to inspect it with `chronik-meta status --meta ADDR`' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l default-replication-factor -d 'Replication factor of auto-created topics and of topics created without one' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l retention-ms -d 'Default retention.ms of topics: segments older than this are deleted; -1 keeps data forever. Topics override it with their own retention.ms' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l retention-bytes -d 'Default retention.bytes per partition: the oldest segments go beyond it; -1 means no limit' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l segment-bytes -d 'Default segment.bytes: a partition\'s segment rolls past this size' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l retention-check-interval-ms -d 'How often expired segments are deleted, in milliseconds' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l log-cleaner-threads -d 'Compacted logs cleaned at once (Kafka\'s log.cleaner.threads); 0 turns the log cleaner off and compacted topics grow' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l log-cleaner-dedupe-buffer-size -d 'Memory for the cleaner\'s key maps, all threads together (Kafka\'s log.cleaner.dedupe.buffer.size): a log with more keys is cleaned in several passes' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l log-cleaner-io-max-bytes-per-second -d 'Bytes the cleaner reads and writes per second, all threads together; -1: unlimited (Kafka\'s log.cleaner.io.max.bytes.per.second)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l log-cleaner-backoff-ms -d 'How long the cleaner waits when no compacted log is due, in milliseconds (Kafka\'s log.cleaner.backoff.ms)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l metrics-addr -d 'Serve Prometheus metrics over HTTP on this address (e.g. 127.0.0.1:9644)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l config -d 'TOML file of settings, keyed by long flag name (e.g. `fsync = "never"`); flags and CHRONIK_* variables win over it' -r -F
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l log-level -d 'Log filter (RUST_LOG wins), e.g. info or chronik_broker=debug' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand status" -l bootstrap -d 'Brokers to ask (HOST:PORT,...); any reachable one will do' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand status" -l topic -d 'Only these topics (repeatable); all topics when not given' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand status" -l timeout-ms -d 'Milliseconds to wait for connections and answers' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand status" -l output -d 'How to print the cluster: tables, or one JSON document' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'Print the effective settings (the same flags as `run`) and where each value came from: flag, env, file or default. Exit 2 when a setting is unknown or bad'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l id -d 'Broker id (Kafka\'s node.id), from 1' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l listen -d 'Address the Kafka listener binds' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l advertise -d 'HOST:PORT clients are told to connect to (default: the bound address)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l data-dir -d 'Directory of the partition logs and the embedded metadata node' -r -F
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l fsync -d 'When acknowledged writes reach the disk: always (before the ack), interval=MS, never' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l num-partitions -d 'Partitions of auto-created topics and of topics created without a count' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l auto-create-topics -d 'Create unknown topics on Metadata and Produce requests' -r -f -a "true\t''
false\t''"
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l max-request-bytes -d 'Largest request accepted, in bytes; a larger one closes the connection' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l max-connections -d 'Connections served at once; further clients wait to be accepted until one closes' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l idle-timeout-ms -d 'Close a connection that completes no request for this many milliseconds, silent or trickling one in too slowly (Kafka\'s connections.max.idle.ms)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l fetch-max-bytes -d 'Most record bytes one Fetch response carries, whatever the client asks (Kafka\'s fetch.max.bytes); a larger first batch is still returned whole' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l fetch-session-cache-slots -d 'Incremental fetch sessions (KIP-227) kept at once (Kafka\'s max.incremental.fetch.session.cache.slots): a consumer or follower in a session sends and receives only the partitions that changed. 0 keeps none, so every fetch is full' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l fetch-session-eviction-ms -d 'When the fetch session cache is full, a session unused for this many milliseconds gives its slot to a new one, and a consumer\'s new session may take the slot of a smaller consumer session older than this (Kafka\'s min.incremental.fetch.session.eviction.ms)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l replica-lag-time-max-ms -d 'A follower not caught up with its leader for this many milliseconds leaves the ISR until it catches up again (Kafka\'s replica.lag.time.max.ms)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l offsets-topic-replication-factor -d 'Replicas of each __consumer_offsets partition when running on an external quorum (--meta); consumer groups wait until that many brokers are live' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l offsets-topic-segment-bytes -d 'segment.bytes of __consumer_offsets when this broker creates it (Kafka\'s offsets.topic.segment.bytes): the log cleaner compacts only its sealed segments' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l group-initial-rebalance-delay-ms -d 'How long the first rebalance of an empty consumer group waits for more members to join, in milliseconds, and again while members keep arriving, up to the rebalance timeout (Kafka\'s group.initial.rebalance.delay.ms); 0 completes it as soon as everyone known has joined' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l group-consumer-session-timeout-ms -d 'How long a member of a consumer-protocol group (group.protocol=consumer) lives without a heartbeat, in milliseconds (Kafka\'s group.consumer.session.timeout.ms); then its partitions go to the other members' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l group-consumer-heartbeat-interval-ms -d 'How often consumer-protocol members heartbeat, in milliseconds (Kafka\'s group.consumer.heartbeat.interval.ms); must be below the session timeout' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l group-consumer-assignors -d 'The server-side assignors consumer-protocol groups may choose with group.remote.assignor, the default first (Kafka\'s group.consumer.assignors)' -r -f -a "uniform\t''
range\t''"
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l transaction-max-timeout-ms -d 'The longest transaction.timeout.ms a transactional producer may ask for, in milliseconds (Kafka\'s transaction.max.timeout.ms); a longer one is refused with INVALID_TRANSACTION_TIMEOUT. Transactions open longer than their timeout are aborted' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l meta -d 'Meta nodes of an external metadata quorum (HOST:PORT,...) to use instead of the embedded one; see `chronik-meta run`' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l meta-listen -d 'Address the embedded metadata node\'s gRPC server binds (port 0 picks one); give a fixed one to inspect it with `chronik-meta status --meta ADDR`' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l default-replication-factor -d 'Replication factor of auto-created topics and of topics created without one' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l retention-ms -d 'Default retention.ms of topics: segments older than this are deleted; -1 keeps data forever. Topics override it with their own retention.ms' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l retention-bytes -d 'Default retention.bytes per partition: the oldest segments go beyond it; -1 means no limit' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l segment-bytes -d 'Default segment.bytes: a partition\'s segment rolls past this size' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l retention-check-interval-ms -d 'How often expired segments are deleted, in milliseconds' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l log-cleaner-threads -d 'Compacted logs cleaned at once (Kafka\'s log.cleaner.threads); 0 turns the log cleaner off and compacted topics grow' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l log-cleaner-dedupe-buffer-size -d 'Memory for the cleaner\'s key maps, all threads together (Kafka\'s log.cleaner.dedupe.buffer.size): a log with more keys is cleaned in several passes' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l log-cleaner-io-max-bytes-per-second -d 'Bytes the cleaner reads and writes per second, all threads together; -1: unlimited (Kafka\'s log.cleaner.io.max.bytes.per.second)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l log-cleaner-backoff-ms -d 'How long the cleaner waits when no compacted log is due, in milliseconds (Kafka\'s log.cleaner.backoff.ms)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l metrics-addr -d 'Serve Prometheus metrics over HTTP on this address (e.g. 127.0.0.1:9644)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'TOML file of settings, keyed by long flag name (e.g. `fsync = "never"`); flags and CHRONIK_* variables win over it' -r -F
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l log-level -d 'Log filter (RUST_LOG wins), e.g. info or chronik_broker=debug' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for journald and log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -l output -d 'How to print the settings' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the effective settings (the same flags as `run`) and where each value came from: flag, env, file or default. Exit 2 when a setting is unknown or bad'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -s h -l help -d 'Print help'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -f -a "add" -d 'Set a user\'s SCRAM credential, replacing the one it has for the same mechanism. The password is read from stdin (one line); only a random salt and the keys SCRAM derives from it are stored'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -f -a "delete" -d 'Delete a user\'s SCRAM credential for one mechanism'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -f -a "list" -d 'List the users with their mechanisms and iteration counts (never salts or keys)'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and not __fish_seen_subcommand_from add delete list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from add" -l mechanism -d 'SCRAM-SHA-256 or SCRAM-SHA-512' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from add" -l iterations -d 'PBKDF2 iterations' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from add" -l data-dir -d 'The broker\'s data dir (its embedded metadata lives in DATA_DIR/meta)' -r -F
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from add" -l id -d 'The broker id, used only when the data dir holds no metadata yet (as `run --id`)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from add" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from add" -l password-stdin -d 'Read the password from stdin: one line, its trailing newline removed. Required: the password is never taken from an argument, which other users could see'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from delete" -l mechanism -d 'SCRAM-SHA-256 or SCRAM-SHA-512' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from delete" -l data-dir -d 'The broker\'s data dir (its embedded metadata lives in DATA_DIR/meta)' -r -F
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from delete" -l id -d 'The broker id, used only when the data dir holds no metadata yet (as `run --id`)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from delete" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from list" -l data-dir -d 'The broker\'s data dir (its embedded metadata lives in DATA_DIR/meta)' -r -F
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from list" -l id -d 'The broker id, used only when the data dir holds no metadata yet (as `run --id`)' -r
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from list" -l output -d 'How to print results' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "add" -d 'Set a user\'s SCRAM credential, replacing the one it has for the same mechanism. The password is read from stdin (one line); only a random salt and the keys SCRAM derives from it are stored'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a user\'s SCRAM credential for one mechanism'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the users with their mechanisms and iteration counts (never salts or keys)'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand help; and not __fish_seen_subcommand_from run status config users help" -f -a "run" -d 'Run the broker until SIGINT/SIGTERM (the default command)'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand help; and not __fish_seen_subcommand_from run status config users help" -f -a "status" -d 'Print the brokers, topics, partitions, leaders and ISR of any Kafka-compatible cluster; exit 0 healthy, 1 when a partition is under-replicated or offline, 2 when unreachable'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand help; and not __fish_seen_subcommand_from run status config users help" -f -a "config" -d 'Inspect the broker\'s settings'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand help; and not __fish_seen_subcommand_from run status config users help" -f -a "users" -d 'Add, delete and list SCRAM users in the embedded metadata of a stopped broker\'s data dir (exit 2 while a broker runs on it). For a broker on an external quorum use `chronik-meta users`; on a running broker, a Kafka admin client'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand help; and not __fish_seen_subcommand_from run status config users help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print the effective settings (the same flags as `run`) and where each value came from: flag, env, file or default. Exit 2 when a setting is unknown or bad'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "add" -d 'Set a user\'s SCRAM credential, replacing the one it has for the same mechanism. The password is read from stdin (one line); only a random salt and the keys SCRAM derives from it are stored'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "delete" -d 'Delete a user\'s SCRAM credential for one mechanism'
complete -c chronik-broker -n "__fish_chronik_broker_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "list" -d 'List the users with their mechanisms and iteration counts (never salts or keys)'
