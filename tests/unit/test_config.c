/* test_config.c: the account file parser and loader, as tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

/* Expectations, one string each:
 *   "ACCT|KEY|VALUE"       val[KEY] of account ACCT is VALUE ("(null)": unset)
 *   "ACCT|KEY|VALUE|LINE"  ... and line[KEY] is LINE
 *   "@order|A,B,C"         the account list, in order ("" for none)
 *   "@alias|NAME"          default_alias ("(null)": none)
 *   "@find|NAME|RESULT"    cfg_find(NAME)->name ("(null)": not found)
 *   "@password|0" or "|1"  has_password */
struct ok_row {
	const char *what;
	const char *in;
	const char *expect[14];
};

static const struct ok_row ok_rows[] = {
	{ "minimal account", "account a\nhost mx.example\n",
	  { "@order|a", "a|host|mx.example|2", "a|port|(null)", "@alias|(null)", "@password|0",
	    "@find|a|a", "@find|default|(null)" } },
	{ "empty file", "", { "@order|" } },
	{ "only comments", "# nothing\n\n   # indented\n\t\n", { "@order|" } },
	{ "no final newline", "account a\nhost h", { "a|host|h|2" } },
	{ "defaults inherited", "defaults\nport 587\ntls on\naccount a\nhost ha\naccount b\nport 25\n",
	  { "@order|a,b", "a|port|587|2", "a|tls|on|3", "b|port|25|7", "b|tls|on|3", "b|host|(null)" } },
	{ "settings before any section are the account default (msmtp)", "port 2525\naccount a\nhost h\n",
	  { "@order|default,a", "default|port|2525|1", "a|port|(null)", "@find|default|default" } },
	{ "a file without account lines is the account default",
	  "# cron mail\nhost relay.example\nport 25\ntls off\nfrom root@example\n",
	  { "@order|default", "default|host|relay.example|2", "default|tls|off|4", "@find|default|default" } },
	{ "a defaults line first keeps the old meaning", "defaults\nport 2525\naccount a\n",
	  { "@order|a", "a|port|2525|2" } },
	{ "later defaults only apply to later accounts",
	  "defaults\nport 1\naccount a\ndefaults\nport 2\nfrom x@y\naccount b\n",
	  { "a|port|1|2", "a|from|(null)", "b|port|2|5", "b|from|x@y|6" } },
	{ "a later defaults adds to the earlier ones",
	  "defaults\nport 1\ntls off\ndefaults\nport 2\naccount a\n", { "a|port|2|5", "a|tls|off|3" } },
	{ "parents in order, later wins, own lines win",
	  "account b\nhost hb\nport 1\naccount c\nhost hc\naccount a : b, c\nport 3\n",
	  { "@order|b,c,a", "a|host|hc|5", "a|port|3|7", "b|port|1|3", "c|port|(null)" } },
	{ "parents in the other order",
	  "account b\nhost hb\nport 1\naccount c\nhost hc\naccount a:c,b\n",
	  { "a|host|hb|2", "a|port|1|3" } },
	{ "a parent's settings beat the current defaults",
	  "defaults\nport 9\naccount b\nhost hb\ndefaults\nport 10\ntls off\naccount a : b\n",
	  { "a|port|9|2", "a|tls|off|7", "a|host|hb|4" } },
	{ "account default : x is an alias",
	  "account x\nhost hx\nfrom me@x\naccount default : x\n",
	  { "@order|x", "@alias|x", "@find|default|x", "@find|x|x" } },
	{ "the alias may come before other accounts",
	  "account x\nhost hx\naccount default : x\n\naccount y\nhost hy\n",
	  { "@order|x,y", "@alias|x", "@find|default|x", "y|host|hy" } },
	{ "account default : x with lines of its own is a real account",
	  "account x\nhost hx\nfrom me@x\naccount default : x\nfrom other@x\n",
	  { "@order|x,default", "@alias|(null)", "@find|default|default", "default|host|hx|2",
	    "default|from|other@x|5", "x|from|me@x|3" } },
	{ "an account literally called default",
	  "account default\nhost h\n", { "@order|default", "@find|default|default", "@alias|(null)" } },
	{ "an account may inherit from the default alias",
	  "account x\nhost hx\naccount default : x\naccount y : default\nport 26\n",
	  { "@order|x,y", "y|host|hx|2", "y|port|26|5" } },
	{ "quotes keep # and spaces", "account a\npassword \"my secret # x\"\n",
	  { "a|password|my secret # x|2", "@password|1" } },
	{ "a # later in a line is part of the value", "account a\npassword abc#def # no comment\n",
	  { "a|password|abc#def # no comment" } },
	{ "escapes inside quotes", "account a\npassword \"a\\\"b\\\\c\"\n", { "a|password|a\"b\\c" } },
	{ "other backslashes are kept", "account a\ntls_trust_file \"C:\\certs\\ca.pem\"\n",
	  { "a|tls_trust_file|C:\\certs\\ca.pem" } },
	{ "backslashes outside quotes are literal", "account a\npassword a\\b\\\\\n",
	  { "a|password|a\\b\\\\" } },
	{ "empty quoted value", "account a\npassword \"\"\n", { "a|password|", "@password|0" } },
	{ "quotes in the middle", "account a\nfrom_full_name Joe\" Q. \"Smith\n",
	  { "a|from_full_name|Joe Q. Smith" } },
	{ "quoted blanks at the ends survive", "account a\npassword \"  pw  \"   \n",
	  { "a|password|  pw  " } },
	{ "unquoted trailing blanks are stripped", "account a\t \nhost \t h  \t\n",
	  { "@order|a", "a|host|h|2" } },
	{ "CRLF line endings", "account a\r\nhost h\r\n\r\n# c\r\nport 25\r\n",
	  { "a|host|h|2", "a|port|25|5" } },
	{ "a UTF-8 byte order mark", "\xef\xbb\xbf" "account a\nhost h\n", { "@order|a", "a|host|h|2" } },
	{ "tls_nocertcheck", "account a\ntls_nocertcheck\n", { "a|tls_certcheck|off|2" } },
	{ "tls_nostarttls", "account a\ntls_nostarttls\n", { "a|tls_starttls|off|2" } },
	{ "connect_timeout", "account a\nconnect_timeout 30\n", { "a|timeout|30|2" } },
	{ "timeout up to one day", "account a\ntimeout 86400\n", { "a|timeout|86400|2" } },
	{ "keepbcc on", "account a\nkeepbcc on\n", { "a|remove_bcc_headers|off|2" } },
	{ "keepbcc off", "account a\nkeepbcc off\n", { "a|remove_bcc_headers|on|2" } },
	{ "keepbcc empty", "account a\nkeepbcc\n", { "a|remove_bcc_headers|off" } },
	{ "add_missing_from_header on", "account a\nadd_missing_from_header on\n",
	  { "a|set_from_header|auto|2" } },
	{ "add_missing_from_header off", "account a\nadd_missing_from_header off\n",
	  { "a|set_from_header|off|2" } },
	{ "add_missing_date_header on", "account a\nadd_missing_date_header on\n",
	  { "a|set_date_header|auto|2" } },
	{ "add_missing_date_header off", "account a\nadd_missing_date_header off\n",
	  { "a|set_date_header|off|2" } },
	{ "auto_from and maildomain", "account a\nauto_from on\nmaildomain example.org\n",
	  { "a|auto_from|on|2", "a|maildomain|example.org|3" } },
	{ "tls_force_sslv3", "account a\ntls_force_sslv3 off\n", { "a|tls_force_sslv3|off|2" } },
	{ "ntlmdomain", "account a\nntlmdomain CORP\n", { "a|ntlmdomain|CORP|2" } },
	{ "protocol lmtp", "account a\nprotocol lmtp\n", { "a|protocol|lmtp" } },
	{ "protocol SMTP", "account a\nprotocol SMTP\n", { "a|protocol|smtp" } },
	{ "booleans", "account a\ntls\ntls_starttls off\ntls_certcheck on\nallow_from_override off\n"
		      "remove_bcc_headers\nundisclosed_recipients on\ndsn_required off\n",
	  { "a|tls|on", "a|tls_starttls|off", "a|tls_certcheck|on", "a|allow_from_override|off",
	    "a|remove_bcc_headers|on", "a|undisclosed_recipients|on", "a|dsn_required|off" } },
	{ "auth values", "account a\nauth\naccount b\nauth off\naccount c\nauth plain\n"
			 "account d\nauth Scram-SHA-256-PLUS\naccount e\nauth xoauth2\n",
	  { "a|auth|on", "b|auth|off", "c|auth|PLAIN", "d|auth|SCRAM-SHA-256-PLUS", "e|auth|XOAUTH2" } },
	{ "every auth method", "auth plain\nauth login\nauth cram-md5\nauth digest-md5\n"
			       "auth scram-sha-1\nauth scram-sha-1-plus\nauth scram-sha-256\n"
			       "auth scram-sha-256-plus\nauth gssapi\nauth external\n"
			       "auth oauthbearer\nauth ntlm\naccount a\n",
	  { "default|auth|NTLM|12" } },
	{ "syslog values", "account a\nsyslog\naccount b\nsyslog log_mail\naccount c\nsyslog off\n"
			   "account d\nsyslog LOG_LOCAL7\n",
	  { "a|syslog|on", "b|syslog|LOG_MAIL", "c|syslog|off", "d|syslog|LOG_LOCAL7" } },
	{ "dsn values", "account a\ndsn_notify failure,delay\ndsn_return headers\n"
			"account b\ndsn_notify never\ndsn_return FULL\naccount c\ndsn_notify off\n"
			"dsn_return off\naccount d\ndsn_notify success,Failure,delay\n",
	  { "a|dsn_notify|FAILURE,DELAY", "a|dsn_return|headers", "b|dsn_notify|NEVER",
	    "b|dsn_return|full", "c|dsn_notify|off", "c|dsn_return|off",
	    "d|dsn_notify|SUCCESS,FAILURE,DELAY" } },
	{ "numbers", "account a\nport 0587\ntimeout off\nproxy_port 1080\ntls_min_dh_prime_bits 512\n"
		     "account b\ntimeout 30\ntls_min_dh_prime_bits\nport 65535\n",
	  { "a|port|587", "a|timeout|off", "a|proxy_port|1080", "a|tls_min_dh_prime_bits|512",
	    "b|timeout|30", "b|tls_min_dh_prime_bits|", "b|port|65535" } },
	{ "header settings", "account a\nset_from_header on\nset_date_header auto\nset_msgid_header off\n"
			     "set_to_header undisclosed-recipients:;\naccount b\nset_from_header\n",
	  { "a|set_from_header|on", "a|set_date_header|auto", "a|set_msgid_header|off",
	    "a|set_to_header|undisclosed-recipients:;", "b|set_from_header|on" } },
	{ "fingerprints", "account a\ntls_fingerprint 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33\n"
			  "account b\ntls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\n"
			  "account c\ntls_fingerprint 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
			  "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff\naccount d\ntls_fingerprint\n",
	  { "a|tls_fingerprint|00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33",
	    "b|tls_fingerprint|00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
	    "c|tls_fingerprint|00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
	    "d|tls_fingerprint|" } },
	{ "strings kept as written", "account a\nsource_ip 192.0.2.1\nproxy_host 127.0.0.1\n"
				     "socket /run/smtp.sock\ndomain client.example\nuser joe\n"
				     "tls_crl_file /etc/crl.pem\ntls_key_file ~/k.pem\ntls_cert_file ~/c.pem\n"
				     "tls_priorities NORMAL:-VERS-TLS1.0\ntls_host_override mx.example\n"
				     "logfile_time_format %Y-%m-%d\naliases /etc/aliases\n",
	  { "a|source_ip|192.0.2.1", "a|proxy_host|127.0.0.1", "a|socket|/run/smtp.sock",
	    "a|domain|client.example", "a|user|joe", "a|tls_crl_file|/etc/crl.pem",
	    "a|tls_key_file|~/k.pem", "a|tls_cert_file|~/c.pem",
	    "a|tls_priorities|NORMAL:-VERS-TLS1.0", "a|tls_host_override|mx.example",
	    "a|logfile_time_format|%Y-%m-%d", "a|aliases|/etc/aliases" } },
	{ "from with wildcards and placeholders", "account a\nfrom *@%H\naccount b\nfrom %U@[ab]?.example\n",
	  { "a|from|*@%H", "b|from|%U@[ab]?.example" } },
	{ "a later line replaces an earlier one", "account a\nhost h1\nhost h2\n", { "a|host|h2|3" } },
	{ "an empty value overrides an inherited one", "defaults\nuser joe\naccount a\nuser\n",
	  { "a|user||4" } },
	{ "a password in the defaults", "defaults\npassword pw\naccount a\n",
	  { "a|password|pw|2", "@password|1" } },
	{ "a 4096-byte line is fine", NULL, { "@order|a" } }, /* filled in by the test */
	{ "real-world Gmail ~/.msmtprc",
	  "# Set default values for all following accounts.\n"
	  "defaults\n"
	  "auth           on\n"
	  "tls            on\n"
	  "tls_trust_file /etc/ssl/certs/ca-certificates.crt\n"
	  "logfile        ~/.msmtp.log\n"
	  "\n"
	  "# Gmail\n"
	  "account        gmail\n"
	  "host           smtp.gmail.com\n"
	  "port           587\n"
	  "from           joe.user@gmail.com\n"
	  "user           joe.user\n"
	  "passwordeval   \"gpg -q --for-your-eyes-only --no-tty -d ~/.msmtp-gmail.gpg\"\n"
	  "\n"
	  "# Work, through a relay that needs no password\n"
	  "account        work\n"
	  "host           mail.example.com\n"
	  "port           465\n"
	  "tls_starttls   off\n"
	  "from           joe@example.com\n"
	  "auth           off\n"
	  "\n"
	  "# Set a default account\n"
	  "account default : gmail\n",
	  { "@order|gmail,work", "@alias|gmail", "@find|default|gmail", "@password|0",
	    "gmail|passwordeval|gpg -q --for-your-eyes-only --no-tty -d ~/.msmtp-gmail.gpg|14",
	    "gmail|logfile|~/.msmtp.log|6", "gmail|tls_trust_file|/etc/ssl/certs/ca-certificates.crt|5",
	    "gmail|auth|on|3", "gmail|port|587|11", "work|auth|off|22", "work|tls_starttls|off|20",
	    "work|tls|on|4", "work|from|joe@example.com|21" } },
};

struct err_row {
	const char *in;
	const char *err; /* the whole message */
};

static const struct err_row err_rows[] = {
	{ "account a\nport 0\n", "rc:2: port: expected a port number from 1 to 65535, not '0'" },
	{ "account a\nport 65536\n", "rc:2: port: expected a port number from 1 to 65535, not '65536'" },
	{ "account a\nport smtp\n", "rc:2: port: expected a port number from 1 to 65535, not 'smtp'" },
	{ "account a\nport\n", "rc:2: port: expected a port number from 1 to 65535, not ''" },
	{ "account a\nport -1\n", "rc:2: port: expected a port number from 1 to 65535, not '-1'" },
	{ "account a\nport +25\n", "rc:2: port: expected a port number from 1 to 65535, not '+25'" },
	{ "account a\nport 99999999999999999999999\n",
	  "rc:2: port: expected a port number from 1 to 65535, not '99999999999999999999999'" },
	{ "account a\nproxy_port 70000\n",
	  "rc:2: proxy_port: expected a port number from 1 to 65535, not '70000'" },
	{ "account a\ntimeout 0\n", "rc:2: timeout: expected off or a positive number of seconds, not '0'" },
	{ "account a\ntimeout -5\n", "rc:2: timeout: expected off or a positive number of seconds, not '-5'" },
	{ "account a\ntimeout 1.5\n", "rc:2: timeout: expected off or a positive number of seconds, not '1.5'" },
	{ "account a\ntimeout\n", "rc:2: timeout: expected off or a positive number of seconds, not ''" },
	{ "account a\ntimeout 3000000000\n",
	  "rc:2: timeout: expected off or a positive number of seconds, not '3000000000'" },
	{ "account a\ntimeout 86401\n", "rc:2: timeout must be at most 86400 seconds (one day), not '86401'" },
	{ "account a\ntimeout 2147484\n",
	  "rc:2: timeout must be at most 86400 seconds (one day), not '2147484'" },
	{ "account a\nconnect_timeout 2147483647\n",
	  "rc:2: connect_timeout must be at most 86400 seconds (one day), not '2147483647'" },
	{ "account a\nconnect_timeout soon\n",
	  "rc:2: connect_timeout: expected off or a positive number of seconds, not 'soon'" },
	{ "account a\ntls_min_dh_prime_bits 0\n",
	  "rc:2: tls_min_dh_prime_bits: expected a positive number of bits or nothing, not '0'" },
	{ "account a\ntls_min_dh_prime_bits many\n",
	  "rc:2: tls_min_dh_prime_bits: expected a positive number of bits or nothing, not 'many'" },
	{ "account a\ntls yes\n", "rc:2: tls: expected on or off, not 'yes'" },
	{ "account a\ntls ON\n", "rc:2: tls: expected on or off, not 'ON'" },
	{ "account a\ntls_starttls 1\n", "rc:2: tls_starttls: expected on or off, not '1'" },
	{ "account a\ntls_certcheck true\n", "rc:2: tls_certcheck: expected on or off, not 'true'" },
	{ "account a\nallow_from_override no\n", "rc:2: allow_from_override: expected on or off, not 'no'" },
	{ "account a\nremove_bcc_headers x\n", "rc:2: remove_bcc_headers: expected on or off, not 'x'" },
	{ "account a\nundisclosed_recipients x\n",
	  "rc:2: undisclosed_recipients: expected on or off, not 'x'" },
	{ "account a\ndsn_required x\n", "rc:2: dsn_required: expected on or off, not 'x'" },
	{ "account a\nauto_from x\n", "rc:2: auto_from: expected on or off, not 'x'" },
	{ "account a\ntls_force_sslv3 x\n", "rc:2: tls_force_sslv3: expected on or off, not 'x'" },
	{ "account a\nkeepbcc yes\n", "rc:2: keepbcc: expected on or off, not 'yes'" },
	{ "account a\nadd_missing_from_header x\n",
	  "rc:2: add_missing_from_header: expected on or off, not 'x'" },
	{ "account a\nadd_missing_date_header x\n",
	  "rc:2: add_missing_date_header: expected on or off, not 'x'" },
	{ "account a\nset_from_header always\n", "rc:2: set_from_header: expected auto, on or off, not 'always'" },
	{ "account a\nset_date_header x\n", "rc:2: set_date_header: expected auto, on or off, not 'x'" },
	{ "account a\nset_msgid_header x\n", "rc:2: set_msgid_header: expected auto, on or off, not 'x'" },
	{ "account a\nauth md5\n",
	  "rc:2: auth: unknown method 'md5'; expected on, off or one of plain, login, cram-md5, "
	  "digest-md5, scram-sha-1, scram-sha-1-plus, scram-sha-256, scram-sha-256-plus, gssapi, "
	  "external, oauthbearer, xoauth2, ntlm" },
	{ "account a\ndsn_notify\n",
	  "rc:2: dsn_notify: expected off, never, or a comma-separated list of failure, delay and "
	  "success, not ''" },
	{ "account a\ndsn_notify never,failure\n",
	  "rc:2: dsn_notify: expected off, never, or a comma-separated list of failure, delay and "
	  "success, not 'never,failure'" },
	{ "account a\ndsn_notify failure,,delay\n",
	  "rc:2: dsn_notify: expected off, never, or a comma-separated list of failure, delay and "
	  "success, not 'failure,,delay'" },
	{ "account a\ndsn_notify failure,\n",
	  "rc:2: dsn_notify: expected off, never, or a comma-separated list of failure, delay and "
	  "success, not 'failure,'" },
	{ "account a\ndsn_notify failure,failure\n",
	  "rc:2: dsn_notify: expected off, never, or a comma-separated list of failure, delay and "
	  "success, not 'failure,failure'" },
	{ "account a\ndsn_notify failure, delay\n",
	  "rc:2: dsn_notify: expected off, never, or a comma-separated list of failure, delay and "
	  "success, not 'failure, delay'" },
	{ "account a\ndsn_return body\n", "rc:2: dsn_return: expected off, headers or full, not 'body'" },
	{ "account a\nprotocol http\n", "rc:2: protocol: expected smtp or lmtp, not 'http'" },
	{ "account a\nprotocol\n", "rc:2: protocol: expected smtp or lmtp, not ''" },
	{ "account a\nsyslog LOG_DAEMON\n",
	  "rc:2: syslog: expected on, off, LOG_USER, LOG_MAIL or LOG_LOCAL0 to LOG_LOCAL7, not 'LOG_DAEMON'" },
	{ "account a\ntls_fingerprint AB:CD\n",
	  "rc:2: tls_fingerprint: expected 16, 20 or 32 hex bytes separated by ':' (MD5, SHA-1 or "
	  "SHA-256), not 'AB:CD'" },
	{ "account a\ntls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00\n",
	  "rc:2: tls_fingerprint: expected 16, 20 or 32 hex bytes separated by ':' (MD5, SHA-1 or "
	  "SHA-256), not '00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00'" },
	{ "account a\ntls_fingerprint 00-11-22-33-44-55-66-77-88-99-AA-BB-CC-DD-EE-FF\n",
	  "rc:2: tls_fingerprint: expected 16, 20 or 32 hex bytes separated by ':' (MD5, SHA-1 or "
	  "SHA-256), not '00-11-22-33-44-55-66-77-88-99-AA-BB-CC-DD-EE-FF'" },
	{ "account a\ntls_fingerprint 0G:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\n",
	  "rc:2: tls_fingerprint: expected 16, 20 or 32 hex bytes separated by ':' (MD5, SHA-1 or "
	  "SHA-256), not '0G:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF'" },
	{ "account a\nfrom me\x01@x\n", "rc:2: from: control characters are not allowed in an address" },
	{ "account a\nhost\n", "rc:2: host: a value is required" },
	{ "account a\nhost \"\"\n", "rc:2: host: a value is required" },
	{ "account a\nfrobnicate bar\n", "rc:2: unknown keyword 'frobnicate'" },
	{ "account a\nhots h\n", "rc:2: unknown keyword 'hots'; did you mean 'host'?" },
	{ "account a\nHost h\n", "rc:2: unknown keyword 'Host'; did you mean 'host'?" },
	{ "account a\npasswd x\n", "rc:2: unknown keyword 'passwd'; did you mean 'password'?" },
	{ "acount a\n", "rc:1: unknown keyword 'acount'; did you mean 'account'?" },
	{ "account a\ntls_nocertchek\n", "rc:2: unknown keyword 'tls_nocertchek'; did you mean 'tls_nocertcheck'?" },
	{ "account a\nhost h\n\xff\xfe x\n", "rc:3: unknown keyword '\xff\xfe'" },
	{ "account a\n\x01\x02 x\n", "rc:2: unknown keyword '?\?'" },
	{ "account a\npassword \"abc\n", "rc:2: unterminated quote: a value that opens '\"' must close it" },
	{ "account a\npassword \"abc\\\"\n", "rc:2: unterminated quote: a value that opens '\"' must close it" },
	{ "account a\npassword a\"b\n", "rc:2: unterminated quote: a value that opens '\"' must close it" },
	{ "account a\nhost h\naccount a\n", "rc:3: account 'a' is already defined on line 1" },
	{ "account x\naccount default : x\naccount default\n",
	  "rc:3: account 'default' is already defined on line 2" },
	{ "account default\naccount default : x\n", "rc:2: account 'default' is already defined on line 1" },
	{ "account a : b\n", "rc:1: account 'a': parent account 'b' is not defined above this line" },
	{ "account a : a\n", "rc:1: account 'a': parent account 'a' is not defined above this line" },
	{ "account b\naccount a : b, c\n",
	  "rc:2: account 'a': parent account 'c' is not defined above this line" },
	{ "account a :\n", "rc:1: account 'a': a parent account name is missing after ':'" },
	{ "account b\naccount a : b,\n", "rc:2: account 'a': a parent account name is missing after ','" },
	{ "account\n", "rc:1: account: a name is required (account NAME [: PARENT, ...])" },
	{ "account : b\n", "rc:1: account: a name is required (account NAME [: PARENT, ...])" },
	{ "account defaults\n", "rc:1: account: 'defaults' cannot be an account name" },
	{ "defaults x\n", "rc:1: defaults takes no value" },
	{ "account a\ntls_nocertcheck on\n", "rc:2: tls_nocertcheck takes no value (it means tls_certcheck off)" },
	{ "account a\ntls_nostarttls off\n", "rc:2: tls_nostarttls takes no value (it means tls_starttls off)" },
	{ "account a\neval echo host x\n",
	  "rc:2: eval is not supported: kurier runs no commands from its configuration file except "
	  "passwordeval; write the command's output into the file instead" },
	{ "account a\nhost h\rx\n", "rc:2: line contains a carriage return that does not end it" },
	{ "account a\r\nhost h\r\nport 0\r\n", "rc:3: port: expected a port number from 1 to 65535, not '0'" },
	{ "account a\nhost h\nport 99\nxyzzy\n", "rc:4: unknown keyword 'xyzzy'" },
};

static const char *field(const char *s, unsigned i, char *buf, size_t len)
{
	const char *e;

	while (i-- > 0) {
		s = strchr(s, '|');
		if (s == NULL)
			return NULL;
		s++;
	}
	e = strchr(s, '|');
	if (e == NULL)
		e = s + strlen(s);
	if ((size_t)(e - s) >= len)
		return NULL;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
	return buf;
}

static void check_expect(const char *what, const struct cfg_file *cf, const char *ex)
{
	char f0[64], f1[64], f2[8192], f3[16];
	const char *a0 = field(ex, 0, f0, sizeof f0), *a1 = field(ex, 1, f1, sizeof f1);
	const char *a2 = field(ex, 2, f2, sizeof f2), *a3 = field(ex, 3, f3, sizeof f3);

	if (a0 == NULL || a1 == NULL)
		fail_msg("%s: bad expectation '%s'", what, ex);
	if (strcmp(a0, "@order") == 0) {
		char got[1024] = "";
		size_t o = 0;
		const struct cfg_account *a;

		for (a = cf->accounts; a != NULL; a = a->next)
			o += (size_t)snprintf(got + o, sizeof got - o, "%s%s", o ? "," : "", a->name);
		if (strcmp(got, a1) != 0)
			fail_msg("%s: accounts '%s', expected '%s'", what, got, a1);
	} else if (strcmp(a0, "@alias") == 0) {
		const char *got = cf->default_alias != NULL ? cf->default_alias : "(null)";
		if (strcmp(got, a1) != 0)
			fail_msg("%s: default_alias '%s', expected '%s'", what, got, a1);
	} else if (strcmp(a0, "@find") == 0) {
		const struct cfg_account *a = cfg_find(cf, a1);
		const char *got = a != NULL ? a->name : "(null)";
		if (a2 == NULL || strcmp(got, a2) != 0)
			fail_msg("%s: cfg_find(%s) is '%s', expected '%s'", what, a1, got, a2);
	} else if (strcmp(a0, "@password") == 0) {
		if ((int)cf->has_password != (a1[0] == '1'))
			fail_msg("%s: has_password %d, expected %s", what, cf->has_password, a1);
	} else {
		const struct cfg_account *a = cfg_find(cf, a0);
		int k = cfg_key_lookup(a1);
		const char *got;

		if (a == NULL)
			fail_msg("%s: no account '%s'", what, a0);
		if (k < 0 || a2 == NULL)
			fail_msg("%s: bad expectation '%s'", what, ex);
		got = a->val[k] != NULL ? a->val[k] : "(null)";
		if (strcmp(got, a2) != 0)
			fail_msg("%s: %s.%s is '%s', expected '%s'", what, a0, a1, got, a2);
		if (a3 != NULL && a->line[k] != (unsigned)strtoul(a3, NULL, 10))
			fail_msg("%s: %s.%s set on line %u, expected %s", what, a0, a1, a->line[k], a3);
	}
}

static char *long_line_input(size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	char *s = malloc(p + n + 32);

	assert_non_null(s);
	memcpy(s, prefix, p);
	s[p] = '#';
	memset(s + p + 1, 'x', n - 1);
	memcpy(s + p + n, "\naccount a\n", sizeof "\naccount a\n");
	return s;
}

static void test_config_ok_table(void **state)
{
	size_t i, j;
	(void)state;

	for (i = 0; i < sizeof ok_rows / sizeof ok_rows[0]; i++) {
		const struct ok_row *row = &ok_rows[i];
		char *owned = row->in != NULL ? NULL : long_line_input(4096, "");
		const char *in = owned != NULL ? owned : row->in;
		struct cfg_file cf;
		char err[KURIER_ERRLEN] = "x";
		int r = cfg_parse("rc", in, strlen(in), &cf, err, sizeof err);

		if (r != 0)
			fail_msg("row %zu (%s): cfg_parse returned %d: %s", i, row->what, r, err);
		assert_string_equal(err, "");
		assert_string_equal(cf.path, "rc");
		for (j = 0; j < sizeof row->expect / sizeof row->expect[0] && row->expect[j] != NULL; j++)
			check_expect(row->what, &cf, row->expect[j]);
		cfg_free(&cf);
		free(owned);
	}
}

static void test_config_err_table(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof err_rows / sizeof err_rows[0]; i++) {
		const struct err_row *row = &err_rows[i];
		struct cfg_file cf;
		char err[KURIER_ERRLEN] = "";
		int r = cfg_parse("rc", row->in, strlen(row->in), &cf, err, sizeof err);

		if (r != -1)
			fail_msg("row %zu (%s): cfg_parse returned %d, expected -1", i, row->in, r);
		if (strcmp(err, row->err) != 0)
			fail_msg("row %zu: error\n  '%s', expected\n  '%s'", i, err, row->err);
		assert_null(cf.accounts);
		assert_null(cf.path);
		assert_null(cf.default_alias);
		cfg_free(&cf); /* harmless after a failure */
	}
}

/* NUL bytes cannot sit in the string tables. */
static void test_config_nul_byte(void **state)
{
	static const char in[] = "account a\npassword se\0cret\n";
	struct cfg_file cf;
	char err[KURIER_ERRLEN];
	(void)state;

	assert_int_equal(cfg_parse("rc", in, sizeof in - 1, &cf, err, sizeof err), -1);
	assert_string_equal(err, "rc:2: line contains a NUL byte");
	/* The buffer need not be NUL-terminated: the length decides. */
	assert_int_equal(cfg_parse("rc", in, 21, &cf, err, sizeof err), 0);
	assert_string_equal(cfg_find(&cf, "a")->val[CFG_PASSWORD], "se");
	cfg_free(&cf);
}

static void test_config_long_lines(void **state)
{
	struct cfg_file cf;
	char err[KURIER_ERRLEN];
	char *in;
	(void)state;

	in = long_line_input(4097, "account a\n");
	assert_int_equal(cfg_parse("rc", in, strlen(in), &cf, err, sizeof err), -1);
	assert_string_equal(err, "rc:2: line too long (more than 4096 bytes)");
	free(in);

	/* A CRLF ending does not count against the limit. */
	in = long_line_input(4096, "account b\r\n");
	memcpy(in + strlen(in) - strlen("\naccount a\n"), "\r\naccount a\n", sizeof "\r\naccount a\n");
	assert_int_equal(cfg_parse("rc", in, strlen(in), &cf, err, sizeof err), 0);
	assert_non_null(cfg_find(&cf, "a"));
	cfg_free(&cf);
	free(in);

	/* A value that fills the line is stored whole. */
	in = malloc(4200);
	assert_non_null(in);
	memcpy(in, "account a\npassword ", 19);
	memset(in + 19, 'p', 4096 - 9);
	memcpy(in + 19 + 4096 - 9, "\n", 2);
	assert_int_equal(cfg_parse("rc", in, strlen(in), &cf, err, sizeof err), 0);
	assert_int_equal(strlen(cfg_find(&cf, "a")->val[CFG_PASSWORD]), 4096 - 9);
	cfg_free(&cf);
	free(in);
}

static void test_config_small_err_buffer(void **state)
{
	struct cfg_file cf;
	char err[8];
	(void)state;

	memset(err, 'z', sizeof err);
	assert_int_equal(cfg_parse("a-long-path", "foo\n", 4, &cf, err, sizeof err), -1);
	assert_string_equal(err, "a-long-");
	assert_int_equal(cfg_parse("rc", "foo\n", 4, &cf, NULL, 0), -1);
	assert_int_equal(cfg_parse(NULL, "foo\n", 4, &cf, err, sizeof err), -1);
	assert_memory_equal(err, "(buffer", 8);
}

static void test_config_too_many_accounts(void **state)
{
	size_t cap = (CFG_ACCOUNTS_MAX + 2) * 16, o = 0;
	char *in = malloc(cap), err[KURIER_ERRLEN], want[64];
	struct cfg_file cf;
	int i;
	(void)state;

	assert_non_null(in);
	for (i = 0; i <= CFG_ACCOUNTS_MAX; i++)
		o += (size_t)snprintf(in + o, cap - o, "account a%d\n", i);
	assert_int_equal(cfg_parse("rc", in, o, &cf, err, sizeof err), -1);
	snprintf(want, sizeof want, "rc:%d: too many accounts (the limit is %d)", CFG_ACCOUNTS_MAX + 1,
		 CFG_ACCOUNTS_MAX);
	assert_string_equal(err, want);
	assert_int_equal(cfg_parse("rc", in, o - strlen("account a1000\n"), &cf, err, sizeof err), 0);
	cfg_free(&cf);
	free(in);
}

static void test_config_find_by_from(void **state)
{
	static const char in[] =
		"account nofrom\nhost h\n"
		"account emptyfrom\nfrom \"\"\n"
		"account home\nfrom me@home.example\n"
		"account work\nfrom *@work.example\n"
		"account work2\nfrom boss@work.example\n"
		"account cls\nfrom [abc]*@x.org\n"
		"account one\nfrom user?@q.org\n"
		"account default : home\n";
	static const struct { const char *addr, *acct; } rows[] = {
		{ "me@home.example", "home" },
		{ "ME@HOME.Example", "home" },
		{ "you@home.example", NULL },
		{ "boss@work.example", "work" }, /* the first match in file order */
		{ "anyone@WORK.example", "work" },
		{ "work.example", NULL },
		{ "alice@x.org", "cls" },
		{ "Bob@x.org", "cls" },
		{ "dave@x.org", NULL },
		{ "user1@q.org", "one" },
		{ "user12@q.org", NULL },
		{ "", NULL },
	};
	struct cfg_file cf;
	char err[KURIER_ERRLEN];
	size_t i;
	(void)state;

	assert_int_equal(cfg_parse("rc", in, strlen(in), &cf, err, sizeof err), 0);
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct cfg_account *a = cfg_find_by_from(&cf, rows[i].addr);
		const char *got = a != NULL ? a->name : NULL;

		if (rows[i].acct == NULL ? got != NULL : (got == NULL || strcmp(got, rows[i].acct) != 0))
			fail_msg("%s: matched %s, expected %s", rows[i].addr, got ? got : "nothing",
				 rows[i].acct ? rows[i].acct : "nothing");
	}
	assert_null(cfg_find_by_from(&cf, NULL));
	assert_string_equal(cfg_find(&cf, "default")->name, "home");
	assert_null(cfg_find(&cf, NULL));
	assert_null(cfg_find(&cf, "nobody"));
	cfg_free(&cf);
}

/* msmtp's merge: user accounts first, then system accounts the user file
 * does not define; the system's default alias only when the user has none. */
static void test_config_merge(void **state)
{
	static const char user_in[] = "account a\nhost user-a\naccount b\nhost user-b\n";
	static const char sys_in[] = "account b\nhost sys-b\naccount c\nhost sys-c\naccount default : c\n";
	struct cfg_file user, sys;
	char err[256];
	const struct cfg_account *a;

	(void)state;
	assert_int_equal(cfg_parse("user", user_in, sizeof user_in - 1, &user, err, sizeof err), 0);
	assert_int_equal(cfg_parse("sys", sys_in, sizeof sys_in - 1, &sys, err, sizeof err), 0);
	cfg_merge(&user, &sys);
	a = user.accounts;
	assert_string_equal(a->name, "a");
	assert_string_equal(a->next->name, "b");
	assert_string_equal(a->next->val[CFG_HOST], "user-b");
	assert_string_equal(a->next->next->name, "c");
	assert_string_equal(a->next->next->path, "sys");
	assert_null(a->next->next->next);
	assert_string_equal(cfg_find(&user, "default")->name, "c");
	assert_null(sys.accounts);
	cfg_free(&sys);
	cfg_free(&user);

	/* the user's own default wins over the system's alias */
	assert_int_equal(cfg_parse("user", "host mine\n", 10, &user, err, sizeof err), 0);
	assert_int_equal(cfg_parse("sys", sys_in, sizeof sys_in - 1, &sys, err, sizeof err), 0);
	cfg_merge(&user, &sys);
	assert_string_equal(cfg_find(&user, "default")->val[CFG_HOST], "mine");
	cfg_free(&sys);
	cfg_free(&user);
}

static void test_config_keys(void **state)
{
	int k, j;
	(void)state;

	for (k = 0; k < CFG_KEY_COUNT; k++) {
		const char *n = cfg_key_name((enum cfg_key)k);

		assert_non_null(n);
		assert_string_not_equal(n, "(unknown)");
		assert_int_equal(cfg_key_lookup(n), k);
		for (j = 0; j < k; j++)
			assert_string_not_equal(n, cfg_key_name((enum cfg_key)j));
		assert_int_equal(cfg_key_is_secret((enum cfg_key)k), k == CFG_PASSWORD);
	}
	assert_string_equal(cfg_key_name(CFG_KEY_COUNT), "(unknown)");
	assert_int_equal(cfg_key_lookup("keepbcc"), -1); /* old spellings are not keys */
	assert_int_equal(cfg_key_lookup("account"), -1);
	assert_int_equal(cfg_key_lookup(NULL), -1);
	assert_string_equal(cfg_key_name(CFG_TLS_CERTCHECK), "tls_certcheck");
}

static void test_config_typed_reads(void **state)
{
	static const char in[] = "account a\ntls off\ntls_starttls\nport 2525\ntimeout off\n"
				 "set_from_header auto\ntls_min_dh_prime_bits\n";
	struct cfg_file cf;
	const struct cfg_account *a;
	char err[KURIER_ERRLEN];
	(void)state;

	assert_int_equal(cfg_parse("rc", in, strlen(in), &cf, err, sizeof err), 0);
	a = cfg_find(&cf, "a");
	assert_false(cfg_bool(a, CFG_TLS, true));
	assert_true(cfg_bool(a, CFG_TLS_STARTTLS, false));
	assert_true(cfg_bool(a, CFG_TLS_CERTCHECK, true));
	assert_false(cfg_bool(a, CFG_TLS_CERTCHECK, false));
	assert_true(cfg_bool(a, CFG_SET_FROM_HEADER, true)); /* auto: the default decides */
	assert_int_equal(cfg_long(a, CFG_PORT, 25), 2525);
	assert_int_equal(cfg_long(a, CFG_TIMEOUT, 0), 0);
	assert_int_equal(cfg_long(a, CFG_PROXY_PORT, 1080), 1080);
	assert_int_equal(cfg_long(a, CFG_TLS_MIN_DH_PRIME_BITS, -1), -1);
	assert_int_equal(cfg_long(NULL, CFG_PORT, 7), 7);
	assert_false(cfg_bool(NULL, CFG_TLS, false));
	cfg_free(&cf);
}


/* Typed values: each value is typed once when stored, and the typed reads
 * give the same answer whichever way it got there: a file line, a parent
 * account, the defaults section, cfg_account_dup or cfg_account_override.
 * KIND 'b' cfg_bool, 'l' cfg_long, 'e' cfg_enum; WANT TYPED_DFLT: the
 * read falls back to its default. */
#define TYPED_DFLT (-7)

struct typed_row {
	const char *keyword;
	const char *value;
	enum cfg_key key;
	char kind;
	long want;
};

static const struct typed_row typed_rows[] = {
	{ "tls", "on", CFG_TLS, 'b', 1 },
	{ "tls", "off", CFG_TLS, 'b', 0 },
	{ "tls", "", CFG_TLS, 'b', 1 },
	{ "dsn_required", "on", CFG_DSN_REQUIRED, 'b', 1 },
	{ "tls_nocertcheck", "", CFG_TLS_CERTCHECK, 'b', 0 },
	{ "tls_nostarttls", "", CFG_TLS_STARTTLS, 'b', 0 },
	{ "keepbcc", "", CFG_REMOVE_BCC_HEADERS, 'b', 0 },
	{ "keepbcc", "off", CFG_REMOVE_BCC_HEADERS, 'b', 1 },
	{ "port", "02525", CFG_PORT, 'l', 2525 },
	{ "proxy_port", "1081", CFG_PROXY_PORT, 'l', 1081 },
	{ "timeout", "30", CFG_TIMEOUT, 'l', 30 },
	{ "timeout", "off", CFG_TIMEOUT, 'l', TYPED_DFLT },
	{ "connect_timeout", "5", CFG_TIMEOUT, 'l', 5 },
	{ "tls_min_dh_prime_bits", "2048", CFG_TLS_MIN_DH_PRIME_BITS, 'l', 2048 },
	{ "tls_min_dh_prime_bits", "", CFG_TLS_MIN_DH_PRIME_BITS, 'l', TYPED_DFLT },
	{ "set_from_header", "auto", CFG_SET_FROM_HEADER, 'e', CFG_HDR_AUTO },
	{ "set_from_header", "on", CFG_SET_FROM_HEADER, 'e', CFG_HDR_ON },
	{ "set_from_header", "", CFG_SET_FROM_HEADER, 'e', CFG_HDR_ON },
	{ "set_from_header", "off", CFG_SET_FROM_HEADER, 'e', CFG_HDR_OFF },
	{ "set_date_header", "off", CFG_SET_DATE_HEADER, 'e', CFG_HDR_OFF },
	{ "set_msgid_header", "auto", CFG_SET_MSGID_HEADER, 'e', CFG_HDR_AUTO },
	{ "add_missing_from_header", "on", CFG_SET_FROM_HEADER, 'e', CFG_HDR_AUTO },
	{ "add_missing_from_header", "off", CFG_SET_FROM_HEADER, 'e', CFG_HDR_OFF },
	{ "add_missing_date_header", "", CFG_SET_DATE_HEADER, 'e', CFG_HDR_AUTO },
	{ "set_to_header", "off", CFG_SET_TO_HEADER, 'e', CFG_TO_OFF },
	{ "set_to_header", "on", CFG_SET_TO_HEADER, 'e', CFG_TO_ON },
	{ "set_to_header", "", CFG_SET_TO_HEADER, 'e', CFG_TO_ON },
	{ "set_to_header", "undisclosed-recipients:;", CFG_SET_TO_HEADER, 'e', CFG_TO_VALUE },
	{ "dsn_return", "off", CFG_DSN_RETURN, 'e', CFG_RET_OFF },
	{ "dsn_return", "Headers", CFG_DSN_RETURN, 'e', CFG_RET_HEADERS },
	{ "dsn_return", "FULL", CFG_DSN_RETURN, 'e', CFG_RET_FULL },
	{ "dsn_notify", "off", CFG_DSN_NOTIFY, 'e', CFG_NOTIFY_OFF },
	{ "dsn_notify", "Never", CFG_DSN_NOTIFY, 'e', CFG_NOTIFY_NEVER },
	{ "dsn_notify", "failure,delay", CFG_DSN_NOTIFY, 'e', CFG_NOTIFY_LIST },
	{ "syslog", "off", CFG_SYSLOG, 'e', CFG_SYSLOG_OFF },
	{ "syslog", "", CFG_SYSLOG, 'e', CFG_SYSLOG_ON },
	{ "syslog", "on", CFG_SYSLOG, 'e', CFG_SYSLOG_ON },
	{ "syslog", "LOG_USER", CFG_SYSLOG, 'e', CFG_SYSLOG_USER },
	{ "syslog", "log_mail", CFG_SYSLOG, 'e', CFG_SYSLOG_MAIL },
	{ "syslog", "LOG_LOCAL0", CFG_SYSLOG, 'e', CFG_SYSLOG_LOCAL0 },
	{ "syslog", "LOG_LOCAL7", CFG_SYSLOG, 'e', CFG_SYSLOG_LOCAL0 + 7 },
	{ "auth", "off", CFG_AUTH, 'e', CFG_AUTH_OFF },
	{ "auth", "on", CFG_AUTH, 'e', CFG_AUTH_ON },
	{ "auth", "", CFG_AUTH, 'e', CFG_AUTH_ON },
	{ "auth", "plain", CFG_AUTH, 'e', CFG_AUTH_PLAIN },
	{ "auth", "Scram-Sha-256-Plus", CFG_AUTH, 'e', CFG_AUTH_SCRAM_SHA_256_PLUS },
	{ "auth", "gssapi", CFG_AUTH, 'e', CFG_AUTH_GSSAPI },
	{ "auth", "EXTERNAL", CFG_AUTH, 'e', CFG_AUTH_EXTERNAL },
	{ "auth", "xoauth2", CFG_AUTH, 'e', CFG_AUTH_XOAUTH2 },
	{ "auth", "ntlm", CFG_AUTH, 'e', CFG_AUTH_NTLM },
	{ "protocol", "smtp", CFG_PROTOCOL, 'e', CFG_PROTO_SMTP },
	{ "protocol", "LMTP", CFG_PROTOCOL, 'e', CFG_PROTO_LMTP },
	/* a typed read of another kind gets its default */
	{ "tls", "off", CFG_TLS, 'l', TYPED_DFLT },
	{ "tls", "off", CFG_TLS, 'e', TYPED_DFLT },
	{ "port", "25", CFG_PORT, 'b', TYPED_DFLT },
	{ "syslog", "on", CFG_SYSLOG, 'b', TYPED_DFLT },
	{ "host", "mx.example", CFG_HOST, 'e', TYPED_DFLT },
	{ "host", "25", CFG_HOST, 'l', TYPED_DFLT },
};

/* The typed read of ROW's kind in A (NULL: unset), or a message. */
static void typed_check(size_t i, const char *how, const struct typed_row *row, const struct cfg_account *a)
{
	long got, got2;

	switch (row->kind) {
	case 'b':
		got = cfg_bool(a, row->key, false);
		got2 = cfg_bool(a, row->key, true);
		if (row->want == TYPED_DFLT ? (got != 0 || got2 != 1) : (got != row->want || got2 != row->want))
			fail_msg("row %zu (%s %s), %s: cfg_bool gives %ld/%ld, expected %ld", i, row->keyword,
				 row->value, how, got, got2, row->want);
		return;
	case 'l':
		got = cfg_long(a, row->key, TYPED_DFLT);
		break;
	default:
		got = cfg_enum(a, row->key, TYPED_DFLT);
		break;
	}
	if (got != row->want)
		fail_msg("row %zu (%s %s), %s: typed read %c gives %ld, expected %ld", i, row->keyword, row->value,
			 how, row->kind, got, row->want);
}

static void test_config_typed_values(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof typed_rows / sizeof typed_rows[0]; i++) {
		const struct typed_row *row = &typed_rows[i];
		char in[512], err[KURIER_ERRLEN];
		struct cfg_file cf;
		struct cfg_account *dup, *o;

		/* a's own line; b inherits it from a, d from the defaults */
		snprintf(in, sizeof in, "defaults\n%s %s\naccount a\n%s %s\naccount b : a\naccount d\n",
			 row->keyword, row->value, row->keyword, row->value);
		if (cfg_parse("rc", in, strlen(in), &cf, err, sizeof err) != 0)
			fail_msg("row %zu (%s %s): %s", i, row->keyword, row->value, err);
		typed_check(i, "file line", row, cfg_find(&cf, "a"));
		typed_check(i, "parent account", row, cfg_find(&cf, "b"));
		typed_check(i, "defaults", row, cfg_find(&cf, "d"));
		dup = cfg_account_dup(cfg_find(&cf, "a"));
		typed_check(i, "cfg_account_dup", row, dup);
		/* an override replaces the typed value as well as the string */
		o = cfg_account_new("o", "command line");
		if (cfg_account_override(o, "tls_min_dh_prime_bits", "1", NULL, err, sizeof err) != 0 ||
		    cfg_account_override(o, "tls", "off", NULL, err, sizeof err) != 0 ||
		    cfg_account_override(o, "port", "1", NULL, err, sizeof err) != 0 ||
		    cfg_account_override(o, "auth", "login", NULL, err, sizeof err) != 0 ||
		    cfg_account_override(o, row->keyword, row->value, NULL, err, sizeof err) != 0)
			fail_msg("row %zu (%s %s): override: %s", i, row->keyword, row->value, err);
		/* an empty value unsets some keys: then the typed read is the default */
		if (*row->value == '\0' && o->val[row->key] == NULL) {
			assert_int_equal(o->typed[row->key], 0);
			assert_int_equal(cfg_long(o, row->key, TYPED_DFLT), TYPED_DFLT);
		} else {
			typed_check(i, "cfg_account_override", row, o);
		}
		cfg_account_free(o);
		cfg_account_free(dup);
		cfg_free(&cf);
	}
}

/* cfg_account_override: a value from the command line, checked as a file
 * line is; VALUE "(null)" in EXPECT: the key ends up unset. The account
 * starts from BASE (a file account a). */
struct override_row {
	const char *keyword;
	const char *value;
	int rc;
	const char *expect;       /* "KEY|VALUE" after the call, or the error message */
};

static const struct override_row override_rows[] = {
	{ "port", "2525", 0, "port|2525" },
	{ "port", "02525", 0, "port|2525" },
	{ "port", "x", -1, "--port: expected a port number from 1 to 65535, not 'x'" },
	{ "port", "65536", -1, "--port: expected a port number from 1 to 65535, not '65536'" },
	{ "port", "", 0, "port|(null)" },
	{ "domain", "", 0, "domain|(null)" },
	{ "domain", "client.example", 0, "domain|client.example" },
	{ "domain", "a\r\nMAIL FROM:<x>", -1, "--domain: a value cannot contain a line break" },
	{ "domain", "a\nb", -1, "--domain: a value cannot contain a line break" },
	{ "host", "", 0, "host|(null)" },
	{ "host", "relay", 0, "host|relay" },
	{ "tls", "off", 0, "tls|off" },
	{ "tls", "", 0, "tls|on" },
	{ "tls", "maybe", -1, "--tls: expected on or off, not 'maybe'" },
	{ "tls_certcheck", "on", 0, "tls_certcheck|on" },
	{ "tls_fingerprint", "", 0, "tls_fingerprint|(null)" },
	{ "tls_fingerprint", "ab:cd", -1,
	  "--tls_fingerprint: expected 16, 20 or 32 hex bytes separated by ':' (MD5, SHA-1 or SHA-256), not 'ab:cd'" },
	{ "timeout", "off", 0, "timeout|off" },
	{ "timeout", "86401", -1, "--timeout must be at most 86400 seconds (one day), not '86401'" },
	{ "connect_timeout", "30", 0, "timeout|30" },
	{ "connect_timeout", "", 0, "timeout|(null)" },
	{ "protocol", "LMTP", 0, "protocol|lmtp" },
	{ "auth", "", 0, "auth|on" },
	{ "auth", "scram-sha-256", 0, "auth|SCRAM-SHA-256" },
	{ "auth", "bogus", -1, "--auth: unknown method 'bogus'; expected on, off or one of plain, login, "
	  "cram-md5, digest-md5, scram-sha-1, scram-sha-1-plus, scram-sha-256, scram-sha-256-plus, gssapi, "
	  "external, oauthbearer, xoauth2, ntlm" },
	{ "syslog", "", 0, "syslog|on" },
	{ "syslog", "log_local3", 0, "syslog|LOG_LOCAL3" },
	{ "syslog", "LOG_KERN", -1, "--syslog: expected on, off, LOG_USER, LOG_MAIL or LOG_LOCAL0 to LOG_LOCAL7, "
	  "not 'LOG_KERN'" },
	{ "dsn_notify", "failure,delay", 0, "dsn_notify|FAILURE,DELAY" },
	{ "dsn_notify", "", 0, "dsn_notify|(null)" },
	{ "dsn_notify", "often", -1, "--dsn_notify: expected off, never, or a comma-separated list of failure, "
	  "delay and success, not 'often'" },
	{ "dsn_return", "FULL", 0, "dsn_return|full" },
	{ "set_from_header", "", 0, "set_from_header|on" },
	{ "set_date_header", "off", 0, "set_date_header|off" },
	{ "set_to_header", "", 0, "set_to_header|" },
	{ "keepbcc", "", 0, "remove_bcc_headers|off" },
	{ "keepbcc", "off", 0, "remove_bcc_headers|on" },
	{ "add_missing_from_header", "on", 0, "set_from_header|auto" },
	{ "add_missing_date_header", "off", 0, "set_date_header|off" },
	{ "auto_from", "", 0, "auto_from|on" },
	{ "tls_min_dh_prime_bits", "", 0, "tls_min_dh_prime_bits|(null)" },
	{ "tls_min_dh_prime_bits", "-1", -1, "--tls_min_dh_prime_bits: expected a positive number of bits or nothing, "
	  "not '-1'" },
	{ "proxy_port", "0", -1, "--proxy_port: expected a port number from 1 to 65535, not '0'" },
	{ "from", "a\001b@x", -1, "--from: control characters are not allowed in an address" },
	{ "user", "", 0, "user|(null)" },
	{ "passwordeval", "pass show mail", 0, "passwordeval|pass show mail" },
	{ "tls_nocertcheck", "", 0, "tls_certcheck|off" },
	{ "eval", "x", -1, "--eval is not supported: kurier runs no commands from its configuration file except "
	  "passwordeval; write the command's output into the file instead" },
	{ "frobnicate", "1", -1, "unknown keyword 'frobnicate'" },
};

static void test_config_override_table(void **state)
{
	static const char in[] = "account a\nhost mx.example\nport 587\ndomain d.example\ntls_fingerprint "
				 "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD\nuser me\n"
				 "dsn_notify never\ntimeout 10\ntls_min_dh_prime_bits 2048\n";
	struct cfg_file cf;
	char err[KURIER_ERRLEN];
	size_t i;
	(void)state;

	assert_int_equal(cfg_parse("rc", in, strlen(in), &cf, err, sizeof err), 0);
	for (i = 0; i < sizeof override_rows / sizeof override_rows[0]; i++) {
		const struct override_row *row = &override_rows[i];
		struct cfg_account *a = cfg_account_dup(cfg_find(&cf, "a"));
		char origin[64], key[64];
		const char *bar = strchr(row->expect, '|');
		int k, rc;

		snprintf(origin, sizeof origin, "--%s", row->keyword);
		snprintf(err, sizeof err, "x");
		rc = cfg_account_override(a, row->keyword, row->value, origin, err, sizeof err);
		if (rc != row->rc)
			fail_msg("row %zu (%s=%s): rc %d, expected %d (%s)", i, row->keyword, row->value, rc, row->rc, err);
		if (rc != 0) {
			if (strcmp(err, row->expect) != 0)
				fail_msg("row %zu: error\n  '%s', expected\n  '%s'", i, err, row->expect);
		} else {
			assert_string_equal(err, "");
			assert_non_null(bar);
			snprintf(key, sizeof key, "%.*s", (int)(bar - row->expect), row->expect);
			k = cfg_key_lookup(key);
			assert_true(k >= 0);
			if (strcmp(bar + 1, "(null)") == 0) {
				if (a->val[k] != NULL)
					fail_msg("row %zu: %s is '%s', expected unset", i, key, a->val[k]);
			} else {
				if (a->val[k] == NULL || strcmp(a->val[k], bar + 1) != 0)
					fail_msg("row %zu: %s is '%s', expected '%s'", i, key,
						 a->val[k] != NULL ? a->val[k] : "(null)", bar + 1);
				assert_int_equal(a->line[k], 0);
			}
		}
		/* the file's account itself is never touched */
		assert_string_equal(cfg_find(&cf, "a")->val[CFG_PORT], "587");
		assert_string_equal(cfg_find(&cf, "a")->val[CFG_DOMAIN], "d.example");
		cfg_account_free(a);
	}
	cfg_free(&cf);
}

/* A value longer than a file line could hold is refused, not cut. */
static void test_config_override_long_value(void **state)
{
	struct cfg_account *a = cfg_account_new("(command line)", "command line");
	char *v = malloc(CFG_LINE_MAX + 2);
	char err[KURIER_ERRLEN];
	(void)state;

	assert_non_null(v);
	memset(v, 'x', CFG_LINE_MAX + 1);
	v[CFG_LINE_MAX + 1] = '\0';
	assert_int_equal(cfg_account_override(a, "domain", v, "--domain", err, sizeof err), -1);
	assert_string_equal(err, "--domain: value too long (more than 4096 bytes)");
	assert_null(a->val[CFG_DOMAIN]);
	v[CFG_LINE_MAX] = '\0';
	assert_int_equal(cfg_account_override(a, "domain", v, NULL, err, sizeof err), 0);
	assert_int_equal(strlen(a->val[CFG_DOMAIN]), CFG_LINE_MAX);
	assert_string_equal(a->name, "(command line)");
	assert_string_equal(a->path, "command line");
	assert_int_equal(cfg_account_override(a, "port", "x", NULL, err, sizeof err), -1);
	assert_string_equal(err, "port: expected a port number from 1 to 65535, not 'x'");
	free(v);
	cfg_account_free(a);
	cfg_account_free(NULL);
}

/* Deterministic mutations of valid files: every result is 0 or -1 with a
 * NUL-terminated message, and nothing leaks or overruns (ASan). */
static void test_config_mutations(void **state)
{
	static const char *const seeds[] = {
		"defaults\ntls on\nport 587\naccount a\nhost h\nfrom *@a.example\n"
		"account b : a\npassword \"p#w \\\" x\"\naccount default : b\n",
		"account x\r\nauth plain\r\ndsn_notify failure,delay\r\ntls_fingerprint "
		"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\nsyslog LOG_MAIL\r\n",
		"# c\nkeepbcc on\ntls_nocertcheck\nadd_missing_from_header off\naccount a:b\n",
		"account default\nhost \"h\"\"x\"\ntimeout 30\nset_date_header auto\n",
	};
	static const char vals[] = { '\0', '\r', '\n', '"', '\\', '#', ':', ',', ' ', '\t', 'x', '0',
				     (char)0xff };
	char buf[512], err[96];
	size_t s, i, k;
	(void)state;

	for (s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
		size_t n = strlen(seeds[s]);

		assert_true(n + 1 < sizeof buf);
		for (i = 0; i <= n; i++) {
			for (k = 0; k < sizeof vals + 2; k++) {
				struct cfg_file cf;
				size_t len;
				int r;

				if (k < sizeof vals) {          /* replace */
					if (i == n)
						continue;
					memcpy(buf, seeds[s], n);
					buf[i] = vals[k];
					len = n;
				} else if (k == sizeof vals) { /* delete */
					if (i == n)
						continue;
					memcpy(buf, seeds[s], i);
					memcpy(buf + i, seeds[s] + i + 1, n - i - 1);
					len = n - 1;
				} else {                        /* insert a quote */
					memcpy(buf, seeds[s], i);
					buf[i] = '"';
					memcpy(buf + i + 1, seeds[s] + i, n - i);
					len = n + 1;
				}
				memset(err, 'z', sizeof err);
				r = cfg_parse("rc", buf, len, &cf, err, sizeof err);
				assert_true(r == 0 || r == -1);
				assert_non_null(memchr(err, '\0', sizeof err));
				if (r == 0) {
					assert_string_equal(err, "");
					cfg_free(&cf);
				} else {
					assert_memory_equal(err, "rc:", 3);
				}
			}
			/* And every prefix. */
			{
				struct cfg_file cf;
				int r = cfg_parse("rc", seeds[s], i, &cf, err, sizeof err);

				assert_true(r == 0 || r == -1);
				if (r == 0)
					cfg_free(&cf);
			}
		}
	}
}

/* ---- cfg_load --------------------------------------------------------- */

struct tmpdir {
	char dir[64];
	char path[128];
};

static int tmp_setup(void **state)
{
	struct tmpdir *t = calloc(1, sizeof *t);

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof t->dir, "/tmp/kurier-test-config-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	snprintf(t->path, sizeof t->path, "%s/rc", t->dir);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmpdir *t = *state;

	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_load_permissions(void **state)
{
	struct tmpdir *t = *state;
	static const char pw[] = "account a\nhost h\npassword secret\n";
	static const char nopw[] = "account a\nhost h\npasswordeval pass show smtp\n";
	static const struct { const char *data; mode_t mode; int r; } rows[] = {
		{ pw, 0644, -1 }, { pw, 0640, -1 }, { pw, 0604, -1 }, { pw, 0620, -1 },
		{ pw, 0600, 0 }, { pw, 0400, 0 },
		{ nopw, 0644, 0 }, { nopw, 0600, 0 },
	};
	char want[512], err[KURIER_ERRLEN];
	struct cfg_file cf;
	size_t i;

	snprintf(want, sizeof want, "%s: contains a password but is readable by group or others; "
		 "run 'chmod 600 %s'", t->path, t->path);
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int r;

		write_file(t->path, rows[i].data, strlen(rows[i].data), rows[i].mode);
		r = cfg_load(t->path, &cf, err, sizeof err);
		if (r != rows[i].r)
			fail_msg("row %zu (mode %o): %d, expected %d (%s)", i, (unsigned)rows[i].mode, r,
				 rows[i].r, err);
		if (r == 0) {
			assert_string_equal(err, "");
			assert_string_equal(cf.path, t->path);
			assert_string_equal(cfg_find(&cf, "a")->val[CFG_HOST], "h");
			cfg_free(&cf);
		} else {
			assert_string_equal(err, want);
			assert_null(cf.accounts);
		}
	}
}

static void test_load_errors(void **state)
{
	struct tmpdir *t = *state;
	char want[512], err[KURIER_ERRLEN], *big;
	struct cfg_file cf;

	/* Missing. */
	unlink(t->path);
	assert_int_equal(cfg_load(t->path, &cf, err, sizeof err), -2);
	snprintf(want, sizeof want, "%s: No such file or directory", t->path);
	assert_string_equal(err, want);
	assert_null(cf.accounts);

	/* A parse error names the file and line. */
	write_file(t->path, "account a\nport 0\n", 17, 0600);
	assert_int_equal(cfg_load(t->path, &cf, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:2: port: expected a port number from 1 to 65535, not '0'", t->path);
	assert_string_equal(err, want);

	/* A directory. */
	assert_int_equal(cfg_load(t->dir, &cf, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: not a regular file", t->dir);
	assert_string_equal(err, want);

	/* Too large. */
	big = malloc(CFG_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, '\n', CFG_FILE_MAX + 1);
	write_file(t->path, big, CFG_FILE_MAX + 1, 0600);
	assert_int_equal(cfg_load(t->path, &cf, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: file too large (more than %d bytes)", t->path, CFG_FILE_MAX);
	assert_string_equal(err, want);
	write_file(t->path, big, CFG_FILE_MAX, 0600);
	assert_int_equal(cfg_load(t->path, &cf, err, sizeof err), 0);
	cfg_free(&cf);
	free(big);

	/* Empty. */
	write_file(t->path, "", 0, 0644);
	assert_int_equal(cfg_load(t->path, &cf, err, sizeof err), 0);
	assert_null(cf.accounts);
	cfg_free(&cf);

	/* Unreadable (not meaningful as root, who reads anything). */
	if (geteuid() != 0) {
		write_file(t->path, "account a\n", 10, 0000);
		assert_int_equal(cfg_load(t->path, &cf, err, sizeof err), -1);
		snprintf(want, sizeof want, "%s: Permission denied", t->path);
		assert_string_equal(err, want);
	}

	/* A path through a file is as missing as a missing file. */
	write_file(t->path, "x", 1, 0600);
	snprintf(want, sizeof want, "%s/rc", t->path);
	assert_int_equal(cfg_load(want, &cf, err, sizeof err), -2);
}

/* cfg_load_files: the user's file over the system file, the lookup order,
 * a broken system file as a warning, and no file at all. */
static void test_load_files(void **state)
{
	struct tmpdir *t = *state;
	char sys[600], kurierrc[600], msmtprc[600], err[1024];
	struct cfg_places p = { .home = t->dir, .system_file = sys };
	struct cfg_loaded l;
	struct cfg_file cf;

	snprintf(sys, sizeof sys, "%s/system", t->dir);
	snprintf(kurierrc, sizeof kurierrc, "%s/.kurierrc", t->dir);
	snprintf(msmtprc, sizeof msmtprc, "%s/.msmtprc", t->dir);

	/* nothing anywhere: 1 and the places */
	assert_int_equal(cfg_load_files(&p, &cf, &l, err, sizeof err), 1);
	assert_non_null(strstr(err, "no configuration file found"));
	assert_non_null(strstr(err, msmtprc));
	assert_non_null(strstr(err, sys));

	/* the system file alone serves */
	write_file(sys, "host relay.example\n", strlen("host relay.example\n"), 0644);
	assert_int_equal(cfg_load_files(&p, &cf, &l, err, sizeof err), 0);
	assert_true(l.system);
	assert_string_equal(l.user, "");
	assert_string_equal(cfg_find(&cf, "default")->val[CFG_HOST], "relay.example");
	cfg_free(&cf);

	/* ~/.msmtprc is found, and merged over the system file */
	write_file(msmtprc, "account mine\nhost mine.example\n", strlen("account mine\nhost mine.example\n"), 0600);
	assert_int_equal(cfg_load_files(&p, &cf, &l, err, sizeof err), 0);
	assert_string_equal(l.user, msmtprc);
	assert_true(l.user_is_msmtp);
	assert_string_equal(cf.accounts->name, "mine");
	assert_string_equal(cfg_find(&cf, "default")->val[CFG_HOST], "relay.example");
	assert_string_equal(cfg_find(&cf, "default")->path, sys);
	cfg_free(&cf);

	/* ~/.kurierrc comes before ~/.msmtprc */
	write_file(kurierrc, "account k\nhost k.example\n", strlen("account k\nhost k.example\n"), 0600);
	assert_int_equal(cfg_load_files(&p, &cf, &l, err, sizeof err), 0);
	assert_string_equal(l.user, kurierrc);
	assert_false(l.user_is_msmtp);
	cfg_free(&cf);

	/* a broken system file: a warning while the user has a file */
	write_file(sys, "bogus keyword\n", strlen("bogus keyword\n"), 0644);
	assert_int_equal(cfg_load_files(&p, &cf, &l, err, sizeof err), 0);
	assert_non_null(strstr(l.warning, "system configuration file skipped: "));
	assert_null(cfg_find(&cf, "default"));
	cfg_free(&cf);

	/* -C names the user's file; a broken one is an error */
	p.user_file = kurierrc;
	write_file(kurierrc, "account k\nport x\n", strlen("account k\nport x\n"), 0600);
	assert_int_equal(cfg_load_files(&p, &cf, &l, err, sizeof err), -1);
	assert_non_null(strstr(err, ".kurierrc:2:"));
	unlink(sys);
	unlink(kurierrc);
	unlink(msmtprc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_ok_table),
		cmocka_unit_test(test_config_err_table),
		cmocka_unit_test(test_config_nul_byte),
		cmocka_unit_test(test_config_long_lines),
		cmocka_unit_test(test_config_small_err_buffer),
		cmocka_unit_test(test_config_too_many_accounts),
		cmocka_unit_test(test_config_find_by_from),
		cmocka_unit_test(test_config_merge),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_config_typed_reads),
		cmocka_unit_test(test_config_typed_values),
		cmocka_unit_test(test_config_override_table),
		cmocka_unit_test(test_config_override_long_value),
		cmocka_unit_test(test_config_mutations),
		cmocka_unit_test_setup_teardown(test_load_permissions, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_errors, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_files, tmp_setup, tmp_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
