# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_chronik_walctl_global_optspecs
    string join \n o/output= log-level= log-format= h/help V/version
end

function __fish_chronik_walctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_chronik_walctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_chronik_walctl_using_subcommand
    set -l cmd (__fish_chronik_walctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c chronik-walctl -n "__fish_chronik_walctl_needs_command" -s o -l output -d 'How to print results: human-readable tables or one pretty JSON document with stable keys' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-walctl -n "__fish_chronik_walctl_needs_command" -l log-level -d 'Log level on stderr: error, warn (adds the storage engine\'s recovery messages), info, debug or trace. RUST_LOG overrides it' -r
complete -c chronik-walctl -n "__fish_chronik_walctl_needs_command" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-walctl -n "__fish_chronik_walctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-walctl -n "__fish_chronik_walctl_needs_command" -s V -l version -d 'Print version'
complete -c chronik-walctl -n "__fish_chronik_walctl_needs_command" -f -a "list" -d 'List partitions (or their segments): offsets, batches, records, bytes, time range'
complete -c chronik-walctl -n "__fish_chronik_walctl_needs_command" -f -a "dump" -d 'Print a partition\'s batches (and with --records their records), oldest first'
complete -c chronik-walctl -n "__fish_chronik_walctl_needs_command" -f -a "verify" -d 'Check every frame CRC and batch CRC of every partition; exit 1 when anything is corrupt'
complete -c chronik-walctl -n "__fish_chronik_walctl_needs_command" -f -a "recover" -d 'Cut every log at its first torn or corrupt frame, as a broker does on start'
complete -c chronik-walctl -n "__fish_chronik_walctl_needs_command" -f -a "stats" -d 'Totals per topic: partitions, segments, batches, records, bytes, oldest and newest timestamp'
complete -c chronik-walctl -n "__fish_chronik_walctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand list" -l remote-storage -d 'Also list each partition\'s segments in this remote tier: s3://BUCKET[/PREFIX] (the endpoint, region and credentials from the AWS_* variables) or file:///PATH' -r
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand list" -s o -l output -d 'How to print results: human-readable tables or one pretty JSON document with stable keys' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand list" -l log-level -d 'Log level on stderr: error, warn (adds the storage engine\'s recovery messages), info, debug or trace. RUST_LOG overrides it' -r
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand list" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand list" -l segments -d 'One row per segment file instead of one per partition; notes damaged segments'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand dump" -s t -l topic -d 'Topic to dump' -r
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand dump" -s p -l partition -d 'Partition to dump' -r
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand dump" -l from -d 'Start at the batch holding this offset (default: the log\'s start)' -r
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand dump" -l limit -d 'Print at most this many batches' -r
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand dump" -s o -l output -d 'How to print results: human-readable tables or one pretty JSON document with stable keys' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand dump" -l log-level -d 'Log level on stderr: error, warn (adds the storage engine\'s recovery messages), info, debug or trace. RUST_LOG overrides it' -r
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand dump" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand dump" -l records -d 'Also decode and print each record (compressed batches included)'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand dump" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand verify" -s o -l output -d 'How to print results: human-readable tables or one pretty JSON document with stable keys' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand verify" -l log-level -d 'Log level on stderr: error, warn (adds the storage engine\'s recovery messages), info, debug or trace. RUST_LOG overrides it' -r
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand verify" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand recover" -s o -l output -d 'How to print results: human-readable tables or one pretty JSON document with stable keys' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand recover" -l log-level -d 'Log level on stderr: error, warn (adds the storage engine\'s recovery messages), info, debug or trace. RUST_LOG overrides it' -r
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand recover" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand recover" -l dry-run -d 'Report what would be cut, changing nothing (no lock taken)'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand recover" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand stats" -s o -l output -d 'How to print results: human-readable tables or one pretty JSON document with stable keys' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand stats" -l log-level -d 'Log level on stderr: error, warn (adds the storage engine\'s recovery messages), info, debug or trace. RUST_LOG overrides it' -r
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand stats" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand help; and not __fish_seen_subcommand_from list dump verify recover stats help" -f -a "list" -d 'List partitions (or their segments): offsets, batches, records, bytes, time range'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand help; and not __fish_seen_subcommand_from list dump verify recover stats help" -f -a "dump" -d 'Print a partition\'s batches (and with --records their records), oldest first'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand help; and not __fish_seen_subcommand_from list dump verify recover stats help" -f -a "verify" -d 'Check every frame CRC and batch CRC of every partition; exit 1 when anything is corrupt'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand help; and not __fish_seen_subcommand_from list dump verify recover stats help" -f -a "recover" -d 'Cut every log at its first torn or corrupt frame, as a broker does on start'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand help; and not __fish_seen_subcommand_from list dump verify recover stats help" -f -a "stats" -d 'Totals per topic: partitions, segments, batches, records, bytes, oldest and newest timestamp'
complete -c chronik-walctl -n "__fish_chronik_walctl_using_subcommand help; and not __fish_seen_subcommand_from list dump verify recover stats help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
