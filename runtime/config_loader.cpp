#include "runtime/config_loader.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <absl/strings/strip.h>

#include "runtime/error_bridge.hpp"

namespace weft {

namespace {

/// Largest config file we read; anything bigger is a mistake, not a config.
constexpr std::size_t max_config_file_size = 1 << 20;

const config_option* find_option(const std::vector<config_option>& options,
                                 absl::string_view name) {
  for (const auto& opt : options)
    if (opt.name == name)
      return &opt;
  return nullptr;
}

absl::Status fail(std::string text) {
  return make_status(errc::invalid_argument, text);
}

/// List options a source set already: the first value a source gives a
/// list replaces what earlier sources set; later ones add to it.
using touched_lists = std::set<std::string>;

absl::Status apply(const config_option& opt, node_config& cfg,
                   absl::string_view value, absl::string_view where,
                   touched_lists& touched) {
  if (opt.is_list && touched.insert(opt.name).second)
    (void)opt.set(cfg, ""); // an empty value clears a list
  if (auto st = opt.set(cfg, value); !st.ok())
    return fail(absl::StrCat(where, ": invalid value '", value, "' (",
                             st.message(), ")"));
  return absl::OkStatus();
}

struct flag {
  const config_option* option;
  std::string value;
  std::string spelling;
};

/// The command line split into flags, before anything is applied.
struct parsed_args {
  std::vector<flag> flags;
  std::optional<std::string> config_file;
  config_action action = config_action::run;
};

absl::StatusOr<parsed_args>
parse_args(const std::vector<std::string>& args,
           const std::vector<config_option>& options) {
  parsed_args result;
  for (std::size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      result.action = config_action::help;
      continue;
    }
    if (arg == "--version") {
      result.action = config_action::version;
      continue;
    }
    if (!absl::ConsumePrefix(&arg, "--") || arg.empty())
      return fail(absl::StrCat("unexpected argument '", args[i],
                               "' (options start with --; see --help)"));
    absl::string_view name = arg;
    std::optional<std::string> value;
    if (auto eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string{arg.substr(eq + 1)};
    }
    auto spelling = absl::StrCat("--", name);
    if (name == "config") {
      if (!value) {
        if (i + 1 >= args.size())
          return fail("--config needs a FILE");
        value = args[++i];
      }
      result.config_file = *value;
      continue;
    }
    const auto* opt = find_option(options, name);
    if (opt == nullptr)
      return fail(absl::StrCat("unknown flag ", spelling, " (see --help)"));
    if (!value) {
      if (opt->is_bool)
        value = "true";
      else if (i + 1 < args.size())
        value = args[++i];
      else
        return fail(absl::StrCat(spelling, " needs a value ", opt->value_name));
    }
    result.flags.push_back({opt, std::move(*value), std::move(spelling)});
  }
  return result;
}

absl::StatusOr<std::string> read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return fail(absl::StrCat("cannot open config file '", path, "'"));
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_config_file_size)
      return fail(absl::StrCat("config file '", path, "' is larger than ",
                               max_config_file_size, " bytes"));
  }
  return text;
}

std::string unquote(absl::string_view value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    return std::string{value.substr(1, value.size() - 2)};
  return std::string{value};
}

} // namespace

env_map env_from(char** envp) {
  env_map result;
  for (; envp != nullptr && *envp != nullptr; ++envp) {
    absl::string_view entry = *envp;
    auto eq = entry.find('=');
    if (eq == absl::string_view::npos)
      continue;
    result.emplace(std::string{entry.substr(0, eq)},
                   std::string{entry.substr(eq + 1)});
  }
  return result;
}

absl::Status apply_config_text(absl::string_view text, absl::string_view origin,
                               node_config& cfg) {
  auto options = node_options();
  int line_no = 0;
  touched_lists touched;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    auto where = absl::StrCat(origin, ":", line_no);
    if (auto hash = line.find('#'); hash != absl::string_view::npos) {
      // A '#' inside a quoted value is kept; quotes never nest.
      auto quote = line.find('"');
      if (quote == absl::string_view::npos || hash < quote)
        line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty())
      continue;
    auto eq = line.find('=');
    if (eq == absl::string_view::npos)
      return fail(
        absl::StrCat(where, ": expected 'key = value', got '", line, "'"));
    auto key = absl::StripAsciiWhitespace(line.substr(0, eq));
    auto value = unquote(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (key == "config")
      return fail(absl::StrCat(where, ": a config file cannot name another"));
    const auto* opt = find_option(options, key);
    if (opt == nullptr)
      return fail(absl::StrCat(where, ": unknown option '", key, "'"));
    if (auto st = apply(*opt, cfg, value, absl::StrCat(where, ": ", key),
                        touched);
        !st.ok())
      return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<loaded_config> load_config(const std::vector<std::string>& args,
                                          const env_map& env,
                                          node_config defaults) {
  auto options = node_options();
  auto parsed = parse_args(args, options);
  if (!parsed.ok())
    return parsed.status();
  loaded_config result;
  result.config = std::move(defaults);
  result.action = parsed->action;
  if (result.action != config_action::run)
    return result;
  // 1. Built-in defaults: the program's (node_config's initializers unless
  //    it changed some).
  // 2. The config file.
  auto config_file = parsed->config_file;
  if (!config_file) {
    if (auto i = env.find("WEFT_CONFIG"); i != env.end() && !i->second.empty())
      config_file = i->second;
  }
  if (config_file) {
    auto text = read_file(*config_file);
    if (!text.ok())
      return text.status();
    if (auto st = apply_config_text(*text, *config_file, result.config);
        !st.ok())
      return st;
    result.config_file = *config_file;
  }
  // 3. Environment variables; an unknown WEFT_* name is warned about, so a
  //    typo does not silently do nothing.
  touched_lists env_touched;
  for (const auto& [key, value] : env) {
    if (!absl::StartsWith(key, "WEFT_") || key == "WEFT_CONFIG")
      continue;
    const config_option* match = nullptr;
    for (const auto& opt : options)
      if (env_name_of(opt.name) == key)
        match = &opt;
    if (match == nullptr) {
      result.warnings.push_back(
        absl::StrCat("ignoring unknown environment variable ", key,
                     " (see --help for WEFT_* names)"));
      continue;
    }
    if (auto st = apply(*match, result.config, value, key, env_touched);
        !st.ok())
      return st;
  }
  // 4. Command-line flags, in order: the last one wins.
  touched_lists flag_touched;
  for (const auto& f : parsed->flags)
    if (auto st = apply(*f.option, result.config, f.value, f.spelling,
                        flag_touched);
        !st.ok())
      return st;
  return result;
}

std::string help_text(absl::string_view program,
                      const node_config& defaults) {
  std::ostringstream out;
  out << "usage: " << program << " [--config FILE] [--OPTION VALUE]...\n\n"
      << "Starts a weft node. Configuration in rising precedence: defaults,\n"
      << "the config file, WEFT_* environment variables, flags.\n\n"
      << "options:\n"
      << "  --config FILE\n      read `key = value` lines from FILE "
         "(env WEFT_CONFIG; default: none)\n";
  for (const auto& opt : node_options()) {
    out << "  --" << opt.name << ' ' << opt.value_name << "\n      " << opt.help
        << " (env " << env_name_of(opt.name)
        << "; default: " << opt.get(defaults) << ")\n";
  }
  out << "  --help\n      print this text and exit\n"
      << "  --version\n      print the version and exit\n";
  return out.str();
}

} // namespace weft
