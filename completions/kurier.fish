# fish completion for kurier(1), the sendmail-compatible submission client.
# Installed into fish's vendor_completions.d.
#
# Offered: every option that means something to kurier. The options kurier
# accepts and ignores for sendmail compatibility (-oem -oep -o*
# -em -ep -U -G -n -L -h -O) are understood when walking the command line
# but never offered.

# Walks the command line before the cursor the way src/cli.c does: prints
# the value given with -C or --file (if any), and fails once the options
# have ended (at "--" or at the first recipient).
function __kurier_walk
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l file
    set -l open 0
    while set -q tokens[1]
        set -l t $tokens[1]
        set -e tokens[1]
        switch $t
            case --
                set open 1
                break
            case -C --file
                if set -q tokens[1]
                    set file $tokens[1]
                    set -e tokens[1]
                end
            case '--file=*'
                set file (string replace -- --file= '' "$t")
            case --account --queue-delete --from --host --port --protocol --domain --timeout \
                    --connect-timeout --source-ip --socket --proxy-host --proxy-port --user \
                    --passwordeval --tls-trust-file --tls-crl-file --tls-fingerprint --tls-key-file \
                    --tls-cert-file --tls-priorities --tls-host-override --tls-min-dh-prime-bits \
                    --maildomain --dsn-notify --dsn-return --logfile --logfile-time-format --aliases
                set -e tokens[1] # the value in the next word
            case '--*'
            case -
                set open 1 # a lone '-' is a recipient
                break
            case '-*'
                set -l n (string length -- "$t")
                for i in (seq 2 $n)
                    set -l c (string sub -s $i -l 1 -- "$t")
                    if contains -- $c f r F a C X N R V B L h O
                        set -l rest (string sub -s (math $i + 1) -- "$t")
                        if test -z "$rest"; and set -q tokens[1]
                            set rest $tokens[1]
                            set -e tokens[1]
                        end
                        test "$c" = C; and set file $rest
                        break
                    end
                    contains -- $c b o e; and break
                end
            case '*'
                set open 1 # the first recipient ends the options
                break
        end
    end
    echo $file
    return $open
end

# True while options may still be given.
function __kurier_options_open
    __kurier_walk >/dev/null
end

# The file kurier would read: the one given with -C or --file, else the
# first that exists of $XDG_CONFIG_HOME/kurier/config, ~/.kurierrc and
# ~/.msmtprc.
function __kurier_config_file
    set -l file (__kurier_walk)
    if test -n "$file"
        string replace -r -- '^~(?=/|$)' "$HOME" "$file"
        return
    end
    set -l xdg $XDG_CONFIG_HOME
    test -n "$xdg"; or set xdg $HOME/.config
    for f in $xdg/kurier/config $HOME/.kurierrc $HOME/.msmtprc
        if test -f $f
            echo $f
            return
        end
    end
end

# The NAME of every "account NAME [: PARENT...]" line, sorted.
function __kurier_accounts
    set -l file (__kurier_config_file)
    test -n "$file" -a -r "$file" -a ! -d "$file"; or return
    string replace -r -- '\r$' '' <$file |
        string match -r -g -- '^[ \t]*account[ \t]+([^: \t]+)[ \t]*(?::|$)' |
        sort -u
end

# -N: "never" alone, or a comma list of failure, delay and success.
function __kurier_notify
    set -l cur (commandline -ct)
    set -l head (string replace -r -- '[^,]*$' '' "$cur")
    set head (string replace -r -- '^-N' '' "$head")
    if test -z "$head"
        echo never
    else if string match -q -- '*never*' "$head"
        return
    end
    for w in failure delay success
        string match -q -- "*,$w,*" ",$head"; or echo "$head$w"
    end
end

complete -c kurier -f
complete -c kurier -n __kurier_options_open -s t -l read-recipients -d 'Take recipients from To/Cc/Bcc (or Resent-*)'
complete -c kurier -n __kurier_options_open -s f -x -d 'Envelope sender (<> for the null sender)'
complete -c kurier -n __kurier_options_open -s r -x -d 'Envelope sender (<> for the null sender)'
complete -c kurier -n __kurier_options_open -l from -x -d 'Envelope sender (<> for the null sender)'
complete -c kurier -n __kurier_options_open -l read-envelope-from -d 'Envelope sender from the From header'
complete -c kurier -n __kurier_options_open -s F -x -d 'Full name of the sender'
complete -c kurier -n __kurier_options_open -s i -d "A line with a single '.' does not end the input"
complete -c kurier -n __kurier_options_open -o oi -d "A line with a single '.' does not end the input"
complete -c kurier -n __kurier_options_open -s N -x -a '(__kurier_notify)' -d 'DSN: never, or failure,delay,success'
complete -c kurier -n __kurier_options_open -s R -x -a 'hdrs full' -d 'DSN: hdrs or full'
complete -c kurier -n __kurier_options_open -s V -x -d 'DSN envelope identifier'
complete -c kurier -n __kurier_options_open -o B8BITMIME -d 'Declare the body 8BITMIME'
complete -c kurier -n __kurier_options_open -o B7BIT -d 'Declare the body 7BIT'
complete -c kurier -n __kurier_options_open -s a -l account -x -a '(__kurier_accounts)' -d 'Use account NAME'
complete -c kurier -n __kurier_options_open -s C -l file -r -F -d 'Read the configuration from FILE'
complete -c kurier -n __kurier_options_open -s v -d 'Verbose (repeat for more)'
complete -c kurier -n __kurier_options_open -s X -r -F -d 'Write a protocol transcript to FILE'
complete -c kurier -n __kurier_options_open -s d -l debug -d 'Protocol transcript on standard error'
complete -c kurier -n __kurier_options_open -o bm -d 'Deliver a message (the default)'
complete -c kurier -n __kurier_options_open -o bp -d 'List the queue'
complete -c kurier -n __kurier_options_open -o bi -d 'Rebuild aliases (nothing to do)'
complete -c kurier -n __kurier_options_open -o bs -d 'Speak SMTP on standard input and output'
complete -c kurier -n __kurier_options_open -o q -l queue-run -d "Deliver the queue's due entries"
complete -c kurier -n __kurier_options_open -o qI -x -d 'Run only entries whose id contains ID'
complete -c kurier -n __kurier_options_open -o qR -x -d 'Run only entries with a recipient containing ADDR'
complete -c kurier -n __kurier_options_open -o qS -x -d 'Run only entries whose sender contains ADDR'
complete -c kurier -n __kurier_options_open -l queue-json -d 'List the queue as JSON lines'
complete -c kurier -n __kurier_options_open -l queue-delete -x -d 'Remove an entry from the queue'
complete -c kurier -n __kurier_options_open -o odi -d 'Submit now, never queue'
complete -c kurier -n __kurier_options_open -o odb -d 'Queue, then deliver in the background'
complete -c kurier -n __kurier_options_open -o odq -d 'Queue only'
complete -c kurier -n __kurier_options_open -s P -l pretend -d 'Print the resolved account and exit'
complete -c kurier -n __kurier_options_open -s S -l serverinfo -d "Print the server's greeting and capabilities"
complete -c kurier -n __kurier_options_open -l help -d 'Print the help'
complete -c kurier -n __kurier_options_open -l version -d 'Print the version and the libraries in use'
# Account settings (msmtp options): each overrides the keyword of its name.
complete -c kurier -n __kurier_options_open -l host -x -d 'SMTP server host name (without -a: no configuration file)'
complete -c kurier -n __kurier_options_open -l port -x -d 'SMTP server port'
complete -c kurier -n __kurier_options_open -l protocol -x -a 'smtp lmtp' -d 'SMTP or LMTP'
complete -c kurier -n __kurier_options_open -l domain -x -d 'EHLO name (empty: the default)'
complete -c kurier -n __kurier_options_open -l timeout -x -d 'Network timeout in seconds, or off'
complete -c kurier -n __kurier_options_open -l connect-timeout -x -d 'Old name of --timeout'
complete -c kurier -n __kurier_options_open -l source-ip -x -d 'Local address to connect from'
complete -c kurier -n __kurier_options_open -l socket -r -F -d 'Connect to this local socket'
complete -c kurier -n __kurier_options_open -l proxy-host -x -d 'SOCKS5 proxy host'
complete -c kurier -n __kurier_options_open -l proxy-port -x -d 'SOCKS5 proxy port'
complete -c kurier -n __kurier_options_open -l auth -d 'Authentication: on, off or a mechanism (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l user -x -d 'User name for authentication'
complete -c kurier -n __kurier_options_open -l passwordeval -x -d 'Command that prints the password'
complete -c kurier -n __kurier_options_open -l tls -d 'TLS: on or off (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l tls-starttls -d 'STARTTLS (on) or TLS on connect (off) (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l tls-certcheck -d 'Check the server certificate (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l tls-trust-file -r -F -d 'Trusted CA certificates'
complete -c kurier -n __kurier_options_open -l tls-crl-file -r -F -d 'Certificate revocation list'
complete -c kurier -n __kurier_options_open -l tls-fingerprint -x -d 'Pin the fingerprint of the server certificate'
complete -c kurier -n __kurier_options_open -l tls-key-file -r -F -d 'Client certificate key'
complete -c kurier -n __kurier_options_open -l tls-cert-file -r -F -d 'Client certificate'
complete -c kurier -n __kurier_options_open -l tls-priorities -x -d 'GnuTLS priority string'
complete -c kurier -n __kurier_options_open -l tls-host-override -x -d 'Host name to verify the certificate for'
complete -c kurier -n __kurier_options_open -l tls-min-dh-prime-bits -x -d 'Minimum Diffie-Hellman prime size'
complete -c kurier -n __kurier_options_open -l maildomain -x -d 'Domain for addresses without one'
complete -c kurier -n __kurier_options_open -l dsn-notify -x -a 'off never failure delay success' -d 'DSN notification of the account'
complete -c kurier -n __kurier_options_open -l dsn-return -x -a 'off headers full' -d 'DSN return of the account'
complete -c kurier -n __kurier_options_open -l set-from-header -d 'Add a From header: auto, on or off (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l set-date-header -d 'Add a Date header: auto or off (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l set-msgid-header -d 'Add a Message-ID header: auto or off (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l set-to-header -d 'Undisclosed recipients To header (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l remove-bcc-headers -d 'Remove Bcc headers (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l undisclosed-recipients -d 'Replace To and Cc with undisclosed-recipients (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l keepbcc -d 'Old: keep Bcc headers (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l add-missing-from-header -d 'Old: add a missing From header (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l add-missing-date-header -d 'Old: add a missing Date header (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l auto-from -d 'Old: from as user@maildomain (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l logfile -r -F -d 'Log file (- for standard output)'
complete -c kurier -n __kurier_options_open -l logfile-time-format -x -d 'Strftime format of the log'
complete -c kurier -n __kurier_options_open -l syslog -d 'Syslog: on, off or a facility (=VALUE joined)'
complete -c kurier -n __kurier_options_open -l aliases -r -F -d 'Aliases file'
