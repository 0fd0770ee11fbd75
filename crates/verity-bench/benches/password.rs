//! Password hashing with the production cost (argon2id, m = 19 MiB, t = 2, p = 1: OWASP's
//! minimum, `Cost::PRODUCTION`): a hash (sign-up) and a verification (every sign-in).

use criterion::{Criterion, criterion_group, criterion_main};
use verity_core::password::{Cost, Passwords};

fn password(c: &mut Criterion) {
    let Ok(passwords) = Passwords::new(Cost::PRODUCTION) else {
        panic!("production argon2 parameters");
    };
    let Ok(stored) = passwords.hash("sandbox-password") else {
        panic!("hashing");
    };
    let mut group = c.benchmark_group("argon2id_m19456_t2_p1");
    group.sample_size(20);
    group.bench_function("hash", |b| {
        b.iter(|| passwords.hash(std::hint::black_box("sandbox-password")))
    });
    group.bench_function("verify", |b| {
        b.iter(|| passwords.verify(Some(&stored), std::hint::black_box("sandbox-password")))
    });
    group.finish();
}

criterion_group!(benches, password);
criterion_main!(benches);
