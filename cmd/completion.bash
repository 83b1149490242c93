# bash completion for imgbatch. It holds no option names: it reads them
# from "imgbatch --help" and "imgbatch help CMD", which print the same
# option tables getopt reads, so it cannot drift from the binary it
# completes. Installed as share/bash-completion/completions/imgbatch.

# _imgbatch_opts CMD: "NAME ARG HELP" per option of CMD, cached per shell.
_imgbatch_opts()
{
    local var="_imgbatch_cache_${1//[^a-z]/_}"
    if [[ -z ${!var-} ]]; then
        printf -v "$var" '%s' "$("${_imgbatch_bin:-imgbatch}" help "$1" 2>/dev/null |
            sed -En 's/^  (-[a-zA-Z], )? *--([a-z0-9-]+)( ([^ ]+))? +(.*)$/\2 \4|\5/p')"
    fi
    printf '%s\n' "${!var}"
}

# _imgbatch_choices HELP: the one-word choices a help text lists ("jpeg,
# png or same (default ...)"), or nothing when it lists none.
_imgbatch_choices()
{
    local h=$1 w out=()
    # a parenthesis the 80-column wrap left open ends the list too
    h=$(sed 's/([^)]*)//g; s/ *(.*$//; s/^[a-z -]*: //' <<<"$h")
    local IFS=$'\n'
    for w in $(sed 's/, or /\n/g; s/, /\n/g; s/ or /\n/g' <<<"$h"); do
        w=${w## }
        w=${w%% }
        [[ $w =~ ^[a-z0-9]+$ ]] || return 0
        out+=("$w")
    done
    printf '%s\n' "${out[@]}"
}

_imgbatch()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    _imgbatch_bin=${COMP_WORDS[0]}
    if ((COMP_CWORD == 1)); then
        local cmds
        cmds=$("$_imgbatch_bin" --help 2>/dev/null |
            sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p')
        mapfile -t COMPREPLY < <(compgen -W "$cmds help --help --version" -- "$cur")
        return
    fi
    local cmd=${COMP_WORDS[1]} line name arg help
    if [[ $cmd == help ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$("$_imgbatch_bin" --help 2>/dev/null |
            sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p')" -- "$cur")
        return
    fi
    # the value of the option before the cursor
    if [[ $prev == -* ]]; then
        while IFS= read -r line; do
            name=${line%% *}
            arg=${line#* }
            help=${arg#*|}
            arg=${arg%%|*}
            [[ $prev == "--$name" || ( $prev == -o && $name == out ) ||
               ( $prev == -c && $name == concurrency ) ]] || continue
            [[ -n $arg ]] || break
            case $arg in
            DIR) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
            FILE) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
            *) mapfile -t COMPREPLY < <(compgen -W "$(_imgbatch_choices "$help")" -- "$cur") ;;
            esac
            return
        done < <(_imgbatch_opts "$cmd")
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_imgbatch_opts "$cmd" |
            sed 's/ .*//; s/^/--/')" -- "$cur")
        return
    fi
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}
complete -o filenames -F _imgbatch imgbatch
