"""``localai-tui chat MODEL --prompt TEXT``: one reply, streamed to stdout, then its measurements.

Without ``--prompt`` the command opens the TUI at its chat screen (``open_chat_screen``). Every
exchange is saved (``localai-tui chats`` lists them); ``--resume ID`` continues a saved one, with
MODEL or, left out, the model the conversation last used.
llama.cpp's log goes to a file (``--log-file`` or the log dir), never to the terminal.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from tui.commands.fit_flags import add_fit_flags

if TYPE_CHECKING:
    from tui.core.chats.store import ChatStore

#: Exit code when the command needs something it was not given (as argparse uses).
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="chat with a GGUF model in-process (one-shot with --prompt)",
        description="Load MODEL with llama.cpp in this process and answer --prompt, streaming the reply "
                    "to stdout, then the measurements (prompt and generation tokens/s, time to first token).",
    )
    parser.add_argument("model", metavar="MODEL", nargs="?", default=None,
                        help="a .gguf file (any shard of a split model); optional with --resume")
    parser.add_argument("--prompt", "-p", default=None, help="the user message; without it, open the chat screen")
    parser.add_argument("--resume", type=int, default=None, metavar="ID",
                        help="continue saved conversation ID (`localai-tui chats` lists them)")
    parser.add_argument("--no-save", dest="save", action="store_false",
                        help="do not save this exchange in the conversation store")
    parser.add_argument("--system", default=None, metavar="TEXT", help="system prompt")
    add_sampling_flags(parser)
    add_fit_flags(parser)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (text and measurements) instead of streaming")
    parser.add_argument("--log-file", default=None, metavar="PATH",
                        help="write llama.cpp's whole log (debug lines included) here")
    parser.set_defaults(func=run)


def add_sampling_flags(parser: argparse.ArgumentParser) -> None:
    """llama.cpp's sampling flags, with llama.cpp's defaults."""
    group = parser.add_argument_group("sampling (same names as llama-cli)")
    group.add_argument("-n", "--n-predict", dest="n_predict", type=int, default=-1,
                       help="tokens to generate; -1 = until the model stops or the context is full (default: -1)")
    group.add_argument("--temp", dest="temperature", type=float, default=0.8, help="temperature; 0 = greedy (default: 0.8)")
    group.add_argument("--top-p", dest="top_p", type=float, default=0.95, help="top-p; 1.0 = off (default: 0.95)")
    group.add_argument("--top-k", dest="top_k", type=int, default=40, help="top-k; 0 = off (default: 40)")
    group.add_argument("--min-p", dest="min_p", type=float, default=0.05, help="min-p; 0.0 = off (default: 0.05)")
    group.add_argument("--repeat-penalty", dest="repeat_penalty", type=float, default=1.0,
                       help="penalty for repeating the last 64 tokens; 1.0 = off (default: 1.0)")
    group.add_argument("--seed", type=int, default=None, help="random seed (default: a new one each run)")


def sampling_from_args(args: argparse.Namespace):
    from tui.core.engine.sampling import SamplingSettings

    settings = SamplingSettings(
        temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, min_p=args.min_p,
        repeat_penalty=args.repeat_penalty, seed=args.seed, max_tokens=args.n_predict,
    )
    settings.validate()
    return settings


def open_chat_screen(args: argparse.Namespace) -> int:
    """``chat MODEL`` without ``--prompt``: the TUI opens at its chat screen with MODEL loading.

    The screen needs a terminal; piped or redirected, the command says so on one line (a
    one-shot reply with ``--prompt`` works anywhere). The screen loads the model with the
    llama.cpp flags typed here (``-c``, ``-ngl``, ``-ctk`` ...), or else the app's defaults; the
    Fit screen (F4) changes them.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("localai-tui: the chat screen needs a terminal; without one, chat needs `--prompt TEXT`: "
              f"localai-tui chat {args.model} --prompt \"Hello\"", file=sys.stderr)
        return EXIT_USAGE
    from tui.cli import open_app
    from tui.commands.fit_flags import settings_from_args
    from tui.core.errors import LocalAIError

    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        raise LocalAIError(str(exc)) from None
    return open_app(args.model, open_chat=True, settings=settings, resume=args.resume)


def _resolve_model(args: argparse.Namespace, conversation) -> None:
    """MODEL left out with ``--resume``: the model the conversation last used."""
    from tui.core.errors import LocalAIError

    if args.model is not None:
        return
    if conversation is None:
        raise LocalAIError("chat needs MODEL (a .gguf file or OWNER/REPO:LABEL), or --resume ID")
    args.model = conversation.model_path or conversation.summary.model


def run(args: argparse.Namespace) -> int:
    conversation = None
    if args.resume is not None:
        from tui.core.chats.store import ChatStore

        with ChatStore() as saved:
            conversation = saved.load(args.resume)
    _resolve_model(args, conversation)
    if args.prompt is None:
        return open_chat_screen(args)

    import json

    from tui.commands.engine_args import load_engine_from_args
    from tui.core.engine.chat import ChatSession

    sampling = sampling_from_args(args)
    engine = load_engine_from_args(args, show_progress=not args.json)
    store: ChatStore | None = None
    try:
        system_prompt = args.system if args.system is not None or conversation is None else conversation.system_prompt
        session = ChatSession(engine, system_prompt=system_prompt, sampling=sampling)
        recorder = None
        if args.save:
            from tui.core.chats.recorder import ConversationRecorder, session_messages, settings_record
            from tui.core.chats.store import ChatStore

            store = ChatStore()
            if conversation is not None:
                session.restore(session_messages(conversation))
            recorder = ConversationRecorder(store, model=args.model, model_path=str(engine.model.path),
                                            settings=settings_record(engine.settings, sampling),
                                            system_prompt=system_prompt, conversation=conversation)
        elif conversation is not None:
            from tui.core.chats.recorder import session_messages

            session.restore(session_messages(conversation))
        if args.json:
            reply = _reply(session, recorder, args.prompt, None)
            data = reply_json(reply, engine)
            if recorder is not None:
                data["conversation_id"] = recorder.conversation_id
            print(json.dumps(data, ensure_ascii=False))
            return 0
        out = sys.stdout

        def write(text: str) -> None:
            out.write(text)
            out.flush()

        reply = _reply(session, recorder, args.prompt, write)
        out.write("\n")
        out.flush()
        print(format_reply_stats(reply), file=sys.stderr)
        if recorder is not None:
            print(f"saved as conversation {recorder.conversation_id} "
                  f"(continue: localai-tui chat --resume {recorder.conversation_id} -p ...)", file=sys.stderr)
        return 0
    finally:
        engine.close()
        if store is not None:
            store.close()


def _reply(session, recorder, text: str, on_text):
    """One reply, saved when ``recorder`` is given. A resumed conversation that outgrew the
    context drops its oldest turns (said on stderr by the reply's notice): no one is there to ask."""
    from tui.core.engine.errors import ContextNeedsRoomError

    def once(make_room: bool):
        if recorder is None:
            return session.reply(text, on_text=on_text, make_room=make_room)
        return recorder.reply(session, text, on_text=on_text, make_room=make_room)

    try:
        return once(False)
    except ContextNeedsRoomError:
        return once(True)


def reply_json(reply, engine) -> dict:
    from tui.core.engine.memory import peak_rss_bytes

    stats = reply.stats
    data = {
        "text": reply.text,
        "n_prompt_tokens": stats.n_prompt_tokens,
        "prompt_tokens_per_s": stats.prompt_tokens_per_s,
        "ttft_s": stats.ttft_s,
        "n_gen_tokens": stats.n_gen_tokens,
        "gen_tokens_per_s": stats.gen_tokens_per_s,
        "stream_tokens_per_s": stats.stream_tokens_per_s,
        "finish_reason": stats.finish_reason,
        "thinking": reply.thinking,
        "n_thinking_tokens": stats.n_thinking_tokens,
        "thinking_seconds": stats.thinking_seconds,
        "n_ctx": stats.n_ctx,
        "n_ctx_used": stats.n_ctx_used,
        "load_seconds": engine.load_seconds,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    if stats.perf is not None:
        data["llama_perf"] = {"n_p_eval": stats.perf.n_p_eval, "t_p_eval_ms": stats.perf.t_p_eval_ms,
                              "n_eval": stats.perf.n_eval, "t_eval_ms": stats.perf.t_eval_ms}
    return data


def format_reply_stats(reply) -> str:
    """One line: prompt speed, time to first token, generation speed, why it ended."""
    from tui.core.engine.metrics import describe_finish

    s = reply.stats
    parts = [
        f"prompt {s.n_prompt_tokens} tokens at {s.prompt_tokens_per_s:,.1f} tok/s",
        f"first token after {s.ttft_s * 1e3:,.1f} ms",
        f"generated {s.n_gen_tokens} tokens at {s.gen_tokens_per_s:,.1f} tok/s (streamed {s.stream_tokens_per_s:,.1f})",
        f"context {s.n_ctx_used}/{s.n_ctx}",
        f"ended: {describe_finish(s.finish_reason)}",
    ]
    line = " · ".join(parts)
    if reply.notice:
        line += f"\nlocalai-tui: {reply.notice}"
    return line
