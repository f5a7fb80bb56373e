#include <cstdio>
#include <iostream>

#include "apps/dseek/commands.h"
#include "base/error.h"

int main(int argc, char** argv) {
  CLI::App app{"dseek: run DeepSeek models on your own hardware, privately"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "dseek 0.1.0");
  dseek::cli::Action action;
  dseek::cli::AddInfo(app, action);
  dseek::cli::AddLogits(app, action);
  dseek::cli::AddGenerate(app, action);
  dseek::cli::AddSynth(app, action);
  dseek::cli::AddTokenize(app, action);
  dseek::cli::AddRenderTemplate(app, action);
  dseek::cli::AddRun(app, action);
  dseek::cli::AddChat(app, action);
  dseek::cli::AddBench(app, action);
  dseek::cli::AddServe(app, action);
  dseek::cli::AddQuantize(app, action);
  dseek::cli::AddPerplexity(app, action);
  dseek::cli::AddPull(app, action);
  dseek::cli::AddList(app, action);
  dseek::cli::AddRm(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "dseek: " << e.what() << "\n" << "Run with --help for usage.\n";
    return 2;
  }
  try {
    return action ? action() : 2;
  } catch (const dseek::UsageError& e) {
    std::cerr << "dseek: " << e.what() << "\n";
    return 2;
  } catch (const dseek::Error& e) {
    std::cerr << "dseek: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "dseek: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "dseek: error: " << e.what() << "\n";
    return 1;
  }
}
