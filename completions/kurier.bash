# bash completion for kurier(1), the sendmail-compatible submission client.
# Installed into bash-completion's completions directory, or source it from
# ~/.bashrc. Works with or without the bash-completion package.
#
# Offered: every option that means something to kurier. The options kurier
# accepts and ignores for sendmail compatibility (-oem -oep -o*
# -em -ep -U -G -n -L -h -O) are understood when walking the command line
# (so their values are skipped) but never offered.

# Letters whose value is the rest of the word or the next word, and letters
# whose sub-option is the rest of the word (-bm, -oi, -oem); as in src/cli.c.
_kurier_value_letters=frFaCXNRVBLhO
_kurier_subopt_letters=boe

_kurier_options='-t --read-recipients -f -r --from --read-envelope-from -F -i -oi
-N -R -V -B8BITMIME -B7BIT -a --account -C --file -v -X -d --debug -bm -bp -bi
-bs -q --queue-run -qI -qR -qS --queue-json --queue-delete -odi -odb -odq
-P --pretend -S --serverinfo --help --version
--host --port --protocol --domain --timeout --connect-timeout --source-ip
--socket --proxy-host --proxy-port --auth --user --passwordeval --tls
--tls-starttls --tls-certcheck --tls-trust-file --tls-crl-file --tls-fingerprint
--tls-key-file --tls-cert-file --tls-priorities --tls-host-override
--tls-min-dh-prime-bits --maildomain --dsn-notify --dsn-return --set-from-header
--set-date-header --set-msgid-header --set-to-header --remove-bcc-headers
--undisclosed-recipients --keepbcc --add-missing-from-header
--add-missing-date-header --auto-from --logfile --logfile-time-format --syslog
--aliases'

# The account settings whose value may be the next word (--port 25); the
# on|off ones take theirs only joined with '=' (--tls=off), as in src/cli.c.
_kurier_setting_options='--host --port --protocol --domain --timeout
--connect-timeout --source-ip --socket --proxy-host --proxy-port --user
--passwordeval --tls-trust-file --tls-crl-file --tls-fingerprint --tls-key-file
--tls-cert-file --tls-priorities --tls-host-override --tls-min-dh-prime-bits
--maildomain --dsn-notify --dsn-return --logfile --logfile-time-format --aliases'

# _kurier_config_file CONFIG: the file kurier would read, given the -C or
# --file value CONFIG from the command line (empty when there is none).
_kurier_config_file()
{
	local f=$1 home=${HOME:-}
	if [[ -n $f ]]; then
		[[ $f == "~" ]] && f=$home
		[[ $f == "~/"* ]] && f=$home/${f#"~/"}
		printf '%s\n' "$f"
		return
	fi
	for f in "${XDG_CONFIG_HOME:-$home/.config}/kurier/config" \
		"$home/.kurierrc" "$home/.msmtprc"; do
		if [[ -f $f ]]; then
			printf '%s\n' "$f"
			return
		fi
	done
}

# _kurier_accounts FILE: the NAME of every "account NAME [: PARENT...]"
# line, sorted, one a line.
_kurier_accounts()
{
	local line re='^[[:blank:]]*account[[:blank:]]+([^:[:blank:]]+)[[:blank:]]*(:|$)'
	[[ -n $1 && -r $1 && ! -d $1 ]] || return 0
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%$'\r'}
		[[ $line =~ $re ]] && printf '%s\n' "${BASH_REMATCH[1]}"
	done <"$1" | LC_ALL=C sort -u
}

# _kurier_value OPTION PREFIX VALUE CONFIG: complete VALUE, the value of
# OPTION (a letter or a long name); every candidate gets PREFIX in front.
_kurier_value()
{
	local opt=$1 prefix=$2 cur=$3 config=$4 head w
	local -a words
	local IFS=$'\n'
	case $opt in
	a | account)
		words=($(_kurier_accounts "$(_kurier_config_file "$config")"))
		COMPREPLY=($(compgen -P "$prefix" -W "${words[*]}" -- "$cur"))
		;;
	C | file | X | tls-trust-file | tls-crl-file | tls-key-file | tls-cert-file | logfile | aliases | socket)
		if [[ -z $prefix ]] && declare -F _filedir >/dev/null; then
			_filedir
		else
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -P "$prefix" -f -- "$cur"))
		fi
		;;
	N)
		# "never" alone, or a comma list of failure, delay and success.
		head=
		[[ $cur == *,* ]] && head=${cur%,*},
		words=()
		[[ -z $head ]] && words+=(never)
		for w in failure delay success; do
			[[ ,$head == *",$w,"* ]] || words+=("$w")
		done
		[[ ,$head == *,never,* ]] && words=()
		COMPREPLY=($(compgen -P "$prefix$head" -W "${words[*]}" -- "${cur##*,}"))
		;;
	R)
		words=(hdrs full)
		COMPREPLY=($(compgen -P "$prefix" -W "${words[*]}" -- "$cur"))
		;;
	B)
		words=(8BITMIME 7BIT)
		COMPREPLY=($(compgen -P "$prefix" -W "${words[*]}" -- "$cur"))
		;;
	protocol)
		words=(smtp lmtp)
		COMPREPLY=($(compgen -P "$prefix" -W "${words[*]}" -- "$cur"))
		;;
	tls | tls-starttls | tls-certcheck | remove-bcc-headers | undisclosed-recipients | keepbcc | \
	add-missing-from-header | add-missing-date-header | auto-from)
		words=(on off)
		COMPREPLY=($(compgen -P "$prefix" -W "${words[*]}" -- "$cur"))
		;;
	*) COMPREPLY=() ;; # addresses, names, ids: nothing to offer
	esac
}

_kurier()
{
	local -a words=()
	local i j w c cword=0 split=0 expect= config= ended=0 cur rest IFS=$' \t\n'
	COMPREPLY=()

	# Join "--opt" "=" "value", which COMP_WORDBREAKS splits, back into
	# one word; remember whether the word being completed was split.
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == = && ${#words[@]} -gt 1 && ${words[${#words[@]}-1]} == --* &&
			${words[${#words[@]}-1]} != *=* ]]; then
			words[${#words[@]}-1]+='='
			((i == COMP_CWORD)) && split=1
			if ((i + 1 <= COMP_CWORD)); then
				words[${#words[@]}-1]+=${COMP_WORDS[i + 1]}
				((i + 1 == COMP_CWORD)) && split=1
				((i++))
			fi
		else
			words+=("$w")
		fi
		((i >= COMP_CWORD && cword == 0)) && cword=$((${#words[@]} - 1))
	done
	((cword > 0)) || return 0
	cur=${words[cword]}
	[[ $split == 1 && $cur != --*=* ]] && split=0

	# Walk the words before the current one the way src/cli.c does.
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ -n $expect ]]; then
			[[ $expect == C || $expect == file ]] && config=$w
			expect=
			continue
		fi
		case $w in
		--) ended=1; break ;;
		--file=*) config=${w#--file=} ;;
		--account | --file | --from) expect=${w#--} ;;
		--*=*) ;;
		--*)
			# an account setting's value in the next word: skip it
			[[ " "${_kurier_setting_options//$'\n'/ }" " == *" $w "* ]] && expect=${w#--}
			;;
		-?*)
			for ((j = 1; j < ${#w}; j++)); do
				c=${w:j:1}
				if [[ $_kurier_value_letters == *"$c"* ]]; then
					rest=${w:j+1}
					if [[ -n $rest ]]; then
						[[ $c == C ]] && config=$rest
					else
						expect=$c
					fi
					break
				fi
				[[ $_kurier_subopt_letters == *"$c"* ]] && break
			done
			;;
		*) ended=1; break ;; # the first recipient ends the options
		esac
	done
	((ended)) && return 0

	if [[ -n $expect ]]; then
		_kurier_value "$expect" "" "$cur" "$config"
		return 0
	fi
	case $cur in
	--*=*)
		w=${cur%%=*}
		# With '=' in COMP_WORDBREAKS only the value is replaced.
		((split)) && rest= || rest=$w=
		_kurier_value "${w#--}" "$rest" "${cur#*=}" "$config"
		;;
	--*) COMPREPLY=($(compgen -W "$_kurier_options" -- "$cur")) ;;
	-?*)
		# A value glued to its letter: -awork, -tC./config.
		for ((j = 1; j < ${#cur} - 1; j++)); do
			c=${cur:j:1}
			[[ $_kurier_subopt_letters == *"$c"* ]] && break
			if [[ $_kurier_value_letters == *"$c"* ]]; then
				_kurier_value "$c" "${cur:0:j+1}" "${cur:j+1}" "$config"
				return 0
			fi
		done
		COMPREPLY=($(compgen -W "$_kurier_options" -- "$cur"))
		;;
	-) COMPREPLY=($(compgen -W "$_kurier_options" -- "$cur")) ;;
	esac
	return 0
}

complete -F _kurier kurier
