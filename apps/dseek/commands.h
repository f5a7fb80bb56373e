// Each subcommand lives in its own file and registers itself here; its
// action runs after parsing. Actions return the exit code; dseek::Error
// escapes to main, which prints it and exits 1 (UsageError: 2).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dseek::cli {

using Action = std::function<int()>;

void AddLogits(CLI::App& app, Action& action);
void AddGenerate(CLI::App& app, Action& action);
void AddInfo(CLI::App& app, Action& action);
void AddSynth(CLI::App& app, Action& action);
void AddTokenize(CLI::App& app, Action& action);  // tokenize and detokenize
void AddRenderTemplate(CLI::App& app, Action& action);
void AddRun(CLI::App& app, Action& action);
void AddChat(CLI::App& app, Action& action);
void AddBench(CLI::App& app, Action& action);
void AddServe(CLI::App& app, Action& action);
void AddQuantize(CLI::App& app, Action& action);
void AddPerplexity(CLI::App& app, Action& action);
void AddPull(CLI::App& app, Action& action);  // pull from the hub into the cache
void AddList(CLI::App& app, Action& action);  // list the cache
void AddRm(CLI::App& app, Action& action);    // delete from the cache

// "1,2,3" -> {1, 2, 3}; throws UsageError on anything else.
std::vector<int32_t> ParseIds(const std::string& s);

}  // namespace dseek::cli
