/** The CLI as a library: exit codes and the program, for tools that embed it. */
export { ExitCode, CliError } from './errors.ts';
export { buildProgram } from './program.ts';
