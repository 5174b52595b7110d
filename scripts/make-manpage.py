#!/usr/bin/env python3
"""Writes rehost(1) in roff from the command definitions themselves.

Reads `rehost --experimental-dump-help` (swift-argument-parser's description of every
command, option and argument) on standard input and prints a man page: nothing in it
is written by hand, so it cannot drift from what the binary accepts.

    rehost --experimental-dump-help | scripts/make-manpage.py > rehost.1
"""
import json
import sys


def roff(text):
    """Escapes text for roff: backslashes, and a leading dot or quote."""
    text = (text or "").replace("\\", "\\e")
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def names(argument):
    out = []
    for name in argument.get("names", []):
        out.append(("-" if name["kind"] == "short" else "--") + name["name"])
    return ", ".join(out)


def synopsis(path, command):
    parts = []
    for argument in command.get("arguments", []):
        if not argument.get("shouldDisplay", True):
            continue
        if argument["kind"] == "positional":
            word = argument.get("valueName", "ARG") + ("..." if argument.get("isRepeating") else "")
            parts.append(word if not argument.get("isOptional") else "[" + word + "]")
    return " ".join(path) + (" [options] " if any(a["kind"] != "positional" for a in command.get("arguments", [])) else " ") + " ".join(parts)


def section(path, command, out):
    out.append(".SS " + roff(" ".join(path)))
    out.append(".B " + roff(synopsis(path, command)))
    out.append(".PP")
    out.append(roff(command.get("abstract", "")))
    if command.get("discussion"):
        out.append(".PP")
        out.append(roff(command["discussion"]))
    for argument in command.get("arguments", []):
        if not argument.get("shouldDisplay", True):
            continue
        if argument["kind"] == "positional":
            label = argument.get("valueName", "ARG")
        else:
            label = names(argument)
            if argument["kind"] == "option":
                label += " " + argument.get("valueName", "VALUE")
        if label in ("-h, --help", "--help", "--version"):
            continue
        out.append(".TP")
        out.append(".B " + roff(label))
        text = argument.get("abstract", "")
        if argument.get("defaultValue"):
            text += " (default: " + argument["defaultValue"] + ")"
        out.append(roff(text))
    for sub in command.get("subcommands", []):
        if sub["commandName"] != "help" and sub.get("shouldDisplay", True):
            section(path + [sub["commandName"]], sub, out)


def main():
    tool = json.load(sys.stdin)["command"]
    out = [
        '.TH REHOST 1 "" "rehost" "User Commands"',
        ".SH NAME",
        "rehost \\- " + roff(tool.get("abstract", "")),
        ".SH SYNOPSIS",
        ".B rehost",
        "COMMAND [options]",
        ".SH DESCRIPTION",
        roff(tool.get("discussion", "")),
        ".SH COMMANDS",
    ]
    for sub in tool.get("subcommands", []):
        if sub["commandName"] != "help" and sub.get("shouldDisplay", True):
            section(["rehost", sub["commandName"]], sub, out)
    out += [".SH SEE ALSO", "README.md, docs/FORMAT.md, docs/BACKUP.md, docs/RUNBOOK.md in the rehost sources."]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
