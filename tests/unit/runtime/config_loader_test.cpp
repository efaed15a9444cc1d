#include "runtime/config_loader.hpp"

#include <sched.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/error_bridge.hpp"

namespace weft {
namespace {

using ::testing::HasSubstr;

/// A config file in the test's temporary directory, removed afterwards.
class temp_file {
public:
  explicit temp_file(const std::string& text) {
    path_ = ::testing::TempDir() + "weft_config_"
            + std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".conf";
    std::ofstream{path_} << text;
  }
  ~temp_file() {
    std::remove(path_.c_str());
  }
  const std::string& path() const {
    return path_;
  }

private:
  std::string path_;
};

TEST(ConfigLoaderTest, UsesBuiltInDefaultsWithoutSources) {
  auto loaded = load_config({}, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->action, config_action::run);
  EXPECT_EQ(loaded->config.name, "weft");
  EXPECT_EQ(loaded->config.scheduler_threads, 0u);
  EXPECT_GE(loaded->config.effective_scheduler_threads(), 1u);
  EXPECT_EQ(loaded->config.log_level, log_level::info);
  EXPECT_EQ(loaded->config.drain_timeout, absl::Seconds(5));
  EXPECT_FALSE(loaded->config_file.has_value());
}

TEST(ConfigLoaderTest, FileOverridesDefaults) {
  temp_file file{
    "# a comment\nname = from-file\n\ndrain-timeout = 2s  # trailing\n"};
  auto loaded = load_config({"--config", file.path()}, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.name, "from-file");
  EXPECT_EQ(loaded->config.drain_timeout, absl::Seconds(2));
  EXPECT_EQ(loaded->config_file, file.path());
}

TEST(ConfigLoaderTest, EnvironmentOverridesFile) {
  temp_file file{"name = from-file\nlog-level = warn\n"};
  env_map env{{"WEFT_NAME", "from-env"}, {"WEFT_CONFIG", file.path()}};
  auto loaded = load_config({}, env);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.name, "from-env");
  EXPECT_EQ(loaded->config.log_level, log_level::warn);
}

TEST(ConfigLoaderTest, FlagsOverrideEnvironmentAndFile) {
  temp_file file{"name = from-file\nscheduler-threads = 3\n"};
  env_map env{{"WEFT_NAME", "from-env"}, {"WEFT_SCHEDULER_THREADS", "5"}};
  auto loaded = load_config(
    {"--config=" + file.path(), "--name", "from-flag", "--scheduler-threads=7"},
    env);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.name, "from-flag");
  EXPECT_EQ(loaded->config.scheduler_threads, 7u);
}

TEST(ConfigLoaderTest, LastFlagWins) {
  auto loaded = load_config({"--log-level=debug", "--log-level", "error"}, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.log_level, log_level::error);
}

TEST(ConfigLoaderTest, FlagConfigBeatsEnvironmentConfig) {
  temp_file env_file{"name = env-file\n"};
  temp_file flag_file{"name = flag-file\n"};
  auto loaded = load_config({"--config", flag_file.path()},
                            {{"WEFT_CONFIG", env_file.path()}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.name, "flag-file");
}

TEST(ConfigLoaderTest, RejectsUnknownFlagByName) {
  auto loaded = load_config({"--no-such-flag"}, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(code_of(loaded.status()), errc::invalid_argument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("--no-such-flag"));
}

TEST(ConfigLoaderTest, RejectsInvalidValueNamingTheFlag) {
  auto loaded = load_config({"--drain-timeout=soon"}, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("--drain-timeout"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("soon"));
}

TEST(ConfigLoaderTest, RejectsOutOfRangeThreads) {
  EXPECT_FALSE(load_config({"--scheduler-threads=0"}, {}).ok());
  EXPECT_FALSE(load_config({"--scheduler-threads=-1"}, {}).ok());
  EXPECT_FALSE(load_config({"--scheduler-threads=99999"}, {}).ok());
  auto loaded = load_config({"--scheduler-threads=auto"}, {});
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->config.scheduler_threads, 0u);
}

TEST(ConfigLoaderTest, RejectsFlagWithoutValue) {
  auto loaded = load_config({"--name"}, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("--name"));
}

TEST(ConfigLoaderTest, RejectsPositionalArgument) {
  auto loaded = load_config({"serve"}, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("serve"));
}

TEST(ConfigLoaderTest, WarnsAboutUnknownEnvironmentVariable) {
  auto loaded = load_config({}, {{"WEFT_DRAIN_TIMOUT", "1s"}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_THAT(loaded->warnings[0], HasSubstr("WEFT_DRAIN_TIMOUT"));
  EXPECT_EQ(loaded->config.drain_timeout, absl::Seconds(5));
}

TEST(ConfigLoaderTest, IgnoresOtherEnvironmentVariables) {
  auto loaded = load_config({}, {{"PATH", "/bin"}, {"CI", "true"}});
  EXPECT_TRUE(loaded.ok()) << loaded.status();
}

TEST(ConfigLoaderTest, InvalidEnvironmentValueNamesTheVariable) {
  auto loaded = load_config({}, {{"WEFT_LOG_LEVEL", "loud"}});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("WEFT_LOG_LEVEL"));
}

TEST(ConfigLoaderTest, FileErrorsNameFileAndLine) {
  temp_file file{"name = ok\n\nbogus = 1\n"};
  auto loaded = load_config({"--config", file.path()}, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr(file.path() + ":3"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("bogus"));
}

TEST(ConfigLoaderTest, FileLineWithoutEqualsIsAnError) {
  node_config cfg;
  auto st = apply_config_text("name weft\n", "inline", cfg);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("inline:1"));
}

TEST(ConfigLoaderTest, QuotedValueKeepsHash) {
  node_config cfg;
  auto st = apply_config_text("name = \"a#b\"\n", "inline", cfg);
  // '#' is not a valid name character, so the value reaches validation intact.
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("a#b"));
}

TEST(ConfigLoaderTest, MissingConfigFileIsAnError) {
  auto loaded = load_config({"--config", "/nonexistent/weft.conf"}, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("/nonexistent/weft.conf"));
}

TEST(ConfigLoaderTest, HelpAndVersionAreActions) {
  auto help = load_config({"--help"}, {});
  ASSERT_TRUE(help.ok());
  EXPECT_EQ(help->action, config_action::help);
  auto version = load_config({"--version"}, {});
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->action, config_action::version);
}

TEST(ConfigLoaderTest, HelpListsEveryOptionWithDefaultAndVariable) {
  auto text = help_text("weftd");
  for (const auto& opt : node_options()) {
    EXPECT_THAT(text, HasSubstr("--" + opt.name));
    EXPECT_THAT(text, HasSubstr(env_name_of(opt.name)));
  }
  EXPECT_THAT(text, HasSubstr("default: 5s"));
  EXPECT_THAT(text, HasSubstr("--config"));
}

TEST(ConfigLoaderTest, EnvNameUpperCasesAndReplacesDashes) {
  EXPECT_EQ(env_name_of("drain-timeout"), "WEFT_DRAIN_TIMEOUT");
}

TEST(ConfigLoaderTest, EnvFromReadsEnvironBlock) {
  std::string a = "WEFT_NAME=x", b = "BROKEN", c = "K=v=w";
  char* block[] = {a.data(), b.data(), c.data(), nullptr};
  auto env = env_from(block);
  EXPECT_EQ(env.size(), 2u);
  EXPECT_EQ(env["WEFT_NAME"], "x");
  EXPECT_EQ(env["K"], "v=w");
}

} // namespace
} // namespace weft

namespace weft {
namespace {

using strings = std::vector<std::string>;

/// The option word `field` holds once `args` and `env` are loaded; fails
/// the test (and returns "") if they do not load.
std::string loaded(const strings& args, const env_map& env,
                   std::string node_config::*field) {
  auto result = load_config(args, env);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? result->config.*field : std::string{};
}

TEST(ConfigLoaderTest, IoRelayIsAutoOnOrOff) {
  constexpr auto field = &node_config::io_relay;
  EXPECT_EQ(loaded({}, {}, field), "auto");
  EXPECT_EQ(loaded({"--io-relay=on"}, {}, field), "on");
  EXPECT_EQ(loaded({}, env_map{{"WEFT_IO_RELAY", "off"}}, field), "off");
  EXPECT_FALSE(load_config({"--io-relay=sometimes"}, {}).ok());
}

TEST(ConfigLoaderTest, YieldAfterWritesIsOnOrOff) {
  constexpr auto field = &node_config::yield_after_writes;
  EXPECT_EQ(loaded({}, {}, field), "on");
  EXPECT_EQ(loaded({"--yield-after-writes=off"}, {}, field), "off");
  EXPECT_EQ(loaded({}, env_map{{"WEFT_YIELD_AFTER_WRITES", "off"}}, field),
            "off");
  EXPECT_FALSE(load_config({"--yield-after-writes=maybe"}, {}).ok());
}

TEST(ConfigLoaderTest, IoModeIsAutoWorkersOrThreads) {
  constexpr auto field = &node_config::io_mode;
  EXPECT_EQ(loaded({}, {}, field), "auto");
  EXPECT_EQ(loaded({"--io-mode=threads"}, {}, field), "threads");
  EXPECT_EQ(loaded({"--io-mode=workers"}, {}, field), "workers");
  EXPECT_EQ(loaded({}, env_map{{"WEFT_IO_MODE", "workers"}}, field),
            "workers");
  EXPECT_FALSE(load_config({"--io-mode=fibers"}, {}).ok());
}

TEST(ConfigLoaderTest, DefaultSchedulerThreadsFollowTheAffinityMask) {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  ASSERT_EQ(::sched_getaffinity(0, sizeof cpus, &cpus), 0);
  node_config cfg;
  EXPECT_EQ(cfg.effective_scheduler_threads(),
            static_cast<std::size_t>(CPU_COUNT(&cpus)));
  cfg.scheduler_threads = 3;
  EXPECT_EQ(cfg.effective_scheduler_threads(), 3u);
}

TEST(ConfigLoaderClusterTest, DefaultsAreAStandaloneNode) {
  auto loaded = load_config({}, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const auto& cfg = loaded->config;
  EXPECT_EQ(cfg.role, "both");
  EXPECT_TRUE(cfg.node_listen.empty());
  EXPECT_TRUE(cfg.join.empty());
  EXPECT_FALSE(cfg.clustered());
  EXPECT_EQ(cfg.node_heartbeat_interval, absl::Seconds(1));
  EXPECT_EQ(cfg.node_timeout, absl::Seconds(3));
  EXPECT_EQ(cfg.join_backoff_max, absl::Seconds(5));
}

TEST(ConfigLoaderClusterTest, RepeatedJoinFlagsAddUp) {
  auto loaded = load_config(
    {"--join", "gateway:7800", "--join=10.0.0.2:7800,10.0.0.3:7801"}, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.join,
            (strings{"gateway:7800", "10.0.0.2:7800", "10.0.0.3:7801"}));
  EXPECT_TRUE(loaded->config.clustered());
}

TEST(ConfigLoaderClusterTest, JoinFromEachSourceReplacesTheEarlierOnes) {
  temp_file file{"join = a:1\njoin = b:2\n"};
  auto from_file = load_config({"--config", file.path()}, {});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->config.join, (strings{"a:1", "b:2"}));
  env_map env{{"WEFT_JOIN", "c:3, d:4"}, {"WEFT_CONFIG", file.path()}};
  auto from_env = load_config({}, env);
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->config.join, (strings{"c:3", "d:4"}));
  auto from_flags = load_config({"--join=e:5"}, env);
  ASSERT_TRUE(from_flags.ok()) << from_flags.status();
  EXPECT_EQ(from_flags->config.join, (strings{"e:5"}));
}

TEST(ConfigLoaderClusterTest, RejectsBadClusterValues) {
  EXPECT_FALSE(load_config({"--role=leader"}, {}).ok());
  EXPECT_FALSE(load_config({"--join=gateway"}, {}).ok());
  EXPECT_FALSE(load_config({"--join=gateway:0"}, {}).ok());
  EXPECT_FALSE(load_config({"--node-listen=nowhere"}, {}).ok());
  EXPECT_FALSE(load_config({"--node-timeout=soon"}, {}).ok());
  auto ok = load_config({"--role=worker", "--node-listen=127.0.0.1:0",
                         "--node-heartbeat-interval=250ms",
                         "--node-timeout=2s", "--join-backoff-max=1s"},
                        {});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->config.role, "worker");
  EXPECT_FALSE(ok->config.has_edges());
  EXPECT_EQ(ok->config.node_heartbeat_interval, absl::Milliseconds(250));
}

} // namespace
} // namespace weft
